//! Parquet pages for the dimension (dictionary-coded) and funnel (boolean) columns, written
//! straight from their bytes. polars' writer walks every value through a run-length
//! detector built for any data, and that was a quarter of generation time. Our dimension
//! codes are independent draws from a handful of values, which have no runs to find, so one
//! bit-packed run carries a page's keys; a validity bitmap already is the bit-packed form of
//! the definition levels; and a boolean column's plain encoding is its bitmap. Anything
//! else (another page version, other key widths) goes through polars' own writer.

use polars::prelude::PolarsResult;
use polars_arrow::array::{Array, BooleanArray, DictionaryArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::parquet::encoding::Encoding;
use polars_parquet::parquet::encoding::uleb128;
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1, DictPage};
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::schema::types::PrimitiveType;
use polars_parquet::parquet::statistics::{BinaryStatistics, BooleanStatistics};
use polars_parquet::write::{Page, ParquetType, Version, WriteOptions};

/// Pages for `array` in the column `field`, or `None` when this module does not handle the
/// combination and polars' writer should.
pub fn pages(
    array: &dyn Array,
    field: &ParquetType,
    options: &WriteOptions,
) -> Option<PolarsResult<Vec<Page>>> {
    let ParquetType::PrimitiveType(type_) = field else { return None };
    if options.version != Version::V1 {
        return None;
    }
    let optional = type_.field_info.repetition == Repetition::Optional;
    if !optional && array.null_count() > 0 {
        return None; // a required column with nulls: polars' writer says what is wrong
    }
    if let Some(array) = array.as_any().downcast_ref::<BooleanArray>() {
        return Some(Ok(vec![boolean_page(array, type_, optional, options)]));
    }
    let array = array.as_any().downcast_ref::<DictionaryArray<u8>>()?;
    let values = array.values().as_any().downcast_ref::<Utf8ViewArray>()?;
    if values.null_count() > 0 || values.len() > 255 {
        return None;
    }
    Some(Ok(dictionary_pages(array, values, type_, optional, options)))
}

/// Appends `value` as an unsigned LEB128 varint, as run headers are written.
fn push_uleb(buffer: &mut Vec<u8>, value: u64) {
    let mut container = [0u8; 10];
    let n = uleb128::encode(value, &mut container);
    buffer.extend_from_slice(&container[..n]);
}

/// The bytes of `bitmap` from its first bit, copied only when it starts mid-byte.
fn aligned_bytes(bitmap: &Bitmap) -> std::borrow::Cow<'_, [u8]> {
    let (bytes, offset, len) = bitmap.as_slice();
    if offset == 0 {
        std::borrow::Cow::Borrowed(&bytes[..len.div_ceil(8)])
    } else {
        std::borrow::Cow::Owned(pack_bits(&bitmap.iter().collect::<Vec<bool>>(), |&b| b).into_vec())
    }
}

/// Packs `pred` over `values` into bytes, least significant bit first (the Arrow bitmap and
/// the Parquet bit-packing order alike).
pub fn pack_bits<T>(values: &[T], pred: impl Fn(&T) -> bool) -> PackedBits {
    let mut bytes = Vec::with_capacity(values.len().div_ceil(8));
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        let mut byte = 0u8;
        for (i, v) in chunk.iter().enumerate() {
            byte |= u8::from(pred(v)) << i;
        }
        bytes.push(byte);
    }
    if !rest.is_empty() {
        let mut byte = 0u8;
        for (i, v) in rest.iter().enumerate() {
            byte |= u8::from(pred(v)) << i;
        }
        bytes.push(byte);
    }
    PackedBits { bytes, len: values.len() }
}

/// Bits packed by [`pack_bits`].
pub struct PackedBits {
    bytes: Vec<u8>,
    len: usize,
}

impl PackedBits {
    pub fn into_bitmap(self) -> Bitmap {
        Bitmap::from_u8_vec(self.bytes, self.len)
    }

    fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

/// Definition levels (V1: a 4-byte length, then the hybrid encoding) for a column of `len`
/// rows: one run of ones without nulls, else the validity bitmap as one bit-packed run.
fn push_def_levels(buffer: &mut Vec<u8>, validity: Option<&Bitmap>, len: usize) {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; 4]);
    match validity.filter(|v| v.unset_bits() > 0) {
        None => {
            push_uleb(buffer, (len as u64) << 1);
            buffer.push(1);
        }
        Some(validity) => {
            let bytes = aligned_bytes(validity);
            push_uleb(buffer, ((len.div_ceil(8) as u64) << 1) | 1);
            buffer.extend_from_slice(&bytes);
        }
    }
    let written = (buffer.len() - start - 4) as u32;
    buffer[start..start + 4].copy_from_slice(&written.to_le_bytes());
}

fn data_page(
    buffer: Vec<u8>,
    rows: usize,
    encoding: Encoding,
    statistics: Option<polars_parquet::parquet::statistics::Statistics>,
    type_: &PrimitiveType,
    optional: bool,
) -> Page {
    let header = DataPageHeader::V1(DataPageHeaderV1 {
        num_values: rows as i32,
        encoding: encoding.into(),
        definition_level_encoding: Encoding::Rle.into(),
        repetition_level_encoding: Encoding::Rle.into(),
        statistics: statistics.map(|s| s.serialize()),
    });
    let descriptor =
        Descriptor { primitive_type: type_.clone(), max_def_level: i16::from(optional), max_rep_level: 0 };
    Page::Data(DataPage::new(header, CowBuffer::Owned(buffer), descriptor, rows))
}

fn boolean_page(array: &BooleanArray, type_: &PrimitiveType, optional: bool, options: &WriteOptions) -> Page {
    let len = array.len();
    let mut buffer = Vec::with_capacity(len.div_ceil(8) + 16);
    if optional {
        push_def_levels(&mut buffer, array.validity(), len);
    }
    let values = array.values();
    if array.null_count() == 0 {
        buffer.extend_from_slice(&aligned_bytes(values));
    } else {
        // Only the valid rows' values are stored.
        let valid: Vec<bool> = array.iter().flatten().collect();
        buffer.extend_from_slice(&pack_bits(&valid, |&b| b).into_vec());
    }
    let statistics = options.has_statistics().then(|| {
        let (trues, valid) = match array.validity() {
            Some(validity) => ((values & validity).set_bits(), len - validity.unset_bits()),
            None => (values.set_bits(), len),
        };
        let wanted = &options.statistics;
        polars_parquet::parquet::statistics::Statistics::Boolean(BooleanStatistics {
            null_count: wanted.null_count.then_some((len - valid) as i64),
            distinct_count: None,
            max_value: (wanted.max_value && valid > 0).then_some(trues > 0),
            min_value: (wanted.min_value && valid > 0).then_some(trues == valid),
        })
    });
    data_page(buffer, len, Encoding::Plain, statistics, type_, optional)
}

/// Bits needed for codes below `n`, at least one (a width of 0 is legal but gains nothing).
fn key_width(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1) as usize
}

/// Bit-packs `keys` at `width` bits (1 to 8) as one hybrid run, padded to a group of eight;
/// nothing for no keys (a run holds at least one value).
fn push_keys(buffer: &mut Vec<u8>, keys: &[u8], width: usize) {
    if keys.is_empty() {
        return;
    }
    push_uleb(buffer, ((keys.len().div_ceil(8) as u64) << 1) | 1);
    let chunks = keys.chunks_exact(8);
    let rest = chunks.remainder();
    let mut pack = |group: &[u8]| {
        let mut acc = 0u64;
        for (i, &k) in group.iter().enumerate() {
            acc |= u64::from(k) << (i * width);
        }
        buffer.extend_from_slice(&acc.to_le_bytes()[..width]);
    };
    for group in chunks {
        pack(group);
    }
    if !rest.is_empty() {
        pack(rest);
    }
}

/// The values whose validity bit is set, in order. Branch-free: every value is written at
/// the next free slot, and the slot advances only past valid ones.
fn compact(values: &[u8], validity: &Bitmap) -> Vec<u8> {
    let bytes = aligned_bytes(validity);
    let mut out = vec![0u8; values.len()];
    let mut next = 0;
    for (i, &value) in values.iter().enumerate() {
        out[next] = value;
        next += usize::from((bytes[i / 8] >> (i % 8)) & 1);
    }
    out.truncate(next);
    out
}

fn dictionary_pages(
    array: &DictionaryArray<u8>,
    values: &Utf8ViewArray,
    type_: &PrimitiveType,
    optional: bool,
    options: &WriteOptions,
) -> Vec<Page> {
    // The dictionary: plain BYTE_ARRAY values, each a 4-byte length and the bytes.
    let mut dict = Vec::new();
    for value in values.values_iter() {
        dict.extend_from_slice(&(value.len() as u32).to_le_bytes());
        dict.extend_from_slice(value.as_bytes());
    }
    let dict_page = Page::Dict(DictPage::new(CowBuffer::Owned(dict), values.len(), false));

    let len = array.len();
    let keys = array.keys();
    let validity = keys.validity().filter(|v| v.unset_bits() > 0);
    let width = key_width(values.len());
    let mut buffer = Vec::with_capacity(len * width / 8 + 64);
    if optional {
        push_def_levels(&mut buffer, validity, len);
    }
    buffer.push(width as u8);
    match validity {
        None => push_keys(&mut buffer, keys.values(), width),
        Some(validity) => {
            // Only the valid rows' keys are stored.
            push_keys(&mut buffer, &compact(keys.values(), validity), width);
        }
    }
    let statistics = options.has_statistics().then(|| {
        // As polars writes them: the range of the dictionary's values.
        let wanted = &options.statistics;
        // A value longer than polars' truncation length is left out rather than truncated.
        let fits =
            |v: &&str| wanted.binary_statistics_truncate_length.is_none_or(|n| n == 0 || v.len() as u64 <= n);
        let min =
            values.values_iter().min().filter(|v| wanted.min_value && fits(v)).map(|v| v.as_bytes().to_vec());
        let max =
            values.values_iter().max().filter(|v| wanted.max_value && fits(v)).map(|v| v.as_bytes().to_vec());
        polars_parquet::parquet::statistics::Statistics::Binary(BinaryStatistics {
            primitive_type: type_.clone(),
            null_count: wanted.null_count.then_some(validity.map_or(0, |v| v.unset_bits()) as i64),
            distinct_count: None,
            max_value: max,
            min_value: min,
        })
    });
    vec![dict_page, data_page(buffer, len, Encoding::RleDictionary, statistics, type_, optional)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_pack_least_significant_first() {
        let bools = [true, false, false, true, true, false, false, false, true, true];
        let packed = pack_bits(&bools, |&b| b);
        assert_eq!(packed.bytes, vec![0b0001_1001, 0b0000_0011]);
        let bitmap = pack_bits(&bools, |&b| b).into_bitmap();
        assert_eq!(bitmap.iter().collect::<Vec<_>>(), bools);
    }

    #[test]
    fn compact_keeps_the_valid_values_in_order() {
        let values: Vec<u8> = (0..20).collect();
        let valid: Vec<bool> = (0..20).map(|i| i < 8 || (i >= 16 && i % 2 == 0)).collect();
        let bitmap = pack_bits(&valid, |&b| b).into_bitmap();
        assert_eq!(compact(&values, &bitmap), vec![0, 1, 2, 3, 4, 5, 6, 7, 16, 18]);
        let all = pack_bits(&[true; 20], |&b| b).into_bitmap();
        assert_eq!(compact(&values, &all), values);
    }

    #[test]
    fn keys_pack_into_one_run() {
        // Width 3: eight keys 0..8 take 3 bytes; the header is (1 group << 1) | 1 = 3.
        let mut buffer = Vec::new();
        push_keys(&mut buffer, &[0, 1, 2, 3, 4, 5, 6, 7], 3);
        // 0b000, 001, 010, 011, 100, 101, 110, 111 packed from the low bit:
        // 0b10_001_000 = 0x88, 0b1_100_011_0 = 0xC6, 0b111_110_10 = 0xFA.
        assert_eq!(buffer, vec![3, 0x88, 0xC6, 0xFA]);
        assert_eq!(key_width(1), 1);
        assert_eq!(key_width(2), 1);
        assert_eq!(key_width(3), 2);
        assert_eq!(key_width(8), 3);
        assert_eq!(key_width(9), 4);
    }
}
