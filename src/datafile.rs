//! Opening data files safely: every Parquet or CSV file a command reads (a drill's tables, a
//! user's `--data`, `--leaves`) is checked here before polars sees it, and recorded, so that a
//! damaged file gives an error naming it instead of a panic deep inside the reader. The
//! Parquet check reads only the footer: the magic bytes, the metadata, and that every column
//! chunk lies inside the file. A drill's files are also checked against the CRC-32s the
//! generator wrote (`checksums.txt`), which finds a damaged byte anywhere. A damaged page of
//! a user's own file can still fail inside polars; the command boundary (`cli::main`) then
//! names the files recorded here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use polars::prelude::{HiveOptions, LazyCsvReader, LazyFrame, PlRefPath, ScanArgsParquet};
use thiserror::Error;

/// Manifests read so far (by folder) and files already verified against them.
static MANIFESTS: Mutex<Vec<(PathBuf, Manifest)>> = Mutex::new(Vec::new());
static VERIFIED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Files the running command has opened, in order (named when a dependency panics).
static READING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A data file that cannot be read, and why.
#[derive(Debug, Error)]
pub enum DataFileError {
    #[error("{}: no such file", .path.display())]
    Missing { path: PathBuf },
    #[error("{}: is a folder, expected a {kind} file", .path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{}: the file is empty (0 bytes); {}", .path.display(), HOW)]
    Empty { path: PathBuf },
    #[error("{}: not a readable Parquet file ({why}); {}", .path.display(), HOW)]
    Damaged { path: PathBuf, why: String },
    #[error("{}: no .parquet files in this folder or in its key=value partition folders", .path.display())]
    NoParquet { path: PathBuf },
    #[error("{}: cannot read ({source})", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a UTF-8 path, which the Parquet and CSV readers need", .path.display())]
    BadPath { path: PathBuf },
    #[error("{}: {why}: the file was damaged or changed after the drill was generated; {}", .path.display(), HOW_DRILL)]
    Mismatch { path: PathBuf, why: String },
    #[error("{}: the drill's list of checksums is damaged ({why}); {}", .path.display(), HOW_DRILL)]
    BadManifest { path: PathBuf, why: String },
}

/// A drill's `checksums.txt`: per file (relative path) its size and CRC-32.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub entries: Vec<(String, u64, u32)>,
}

/// Size and CRC-32 of a file, read through a memory map: the pages the reader is about to
/// use are checksummed where they lie in the page cache, not copied out first (on a 110 MB
/// drill that copy was most of a rollup-answered query's time). polars maps the same files
/// to read them.
fn crc_of_file(path: &Path) -> Result<(u64, u32), DataFileError> {
    let io = |source| DataFileError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size == 0 {
        return Ok((0, crc32fast::Hasher::new().finalize()));
    }
    // SAFETY: the map is read-only and lives only for this function; a drill's files are
    // written once, atomically, before anything reads them.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&map);
    Ok((map.len() as u64, hasher.finalize()))
}

impl Manifest {
    /// Lists every `.parquet` and `.csv` file under `dir` (relative paths, `/`-separated).
    pub fn of_folder(dir: &Path) -> Result<Self, DataFileError> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64, u32)>) -> Result<(), DataFileError> {
            let io = |source| DataFileError::Io { path: dir.to_path_buf(), source };
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            paths.sort();
            for path in paths {
                if path.is_dir() {
                    walk(root, &path, out)?;
                } else if path.extension().is_some_and(|e| e == "parquet" || e == "csv") {
                    let (size, crc) = crc_of_file(&path)?;
                    let relative = path.strip_prefix(root).expect("under the root");
                    let name: Vec<String> =
                        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                    out.push((name.join("/"), size, crc));
                }
            }
            Ok(())
        }
        let mut entries = Vec::new();
        walk(dir, dir, &mut entries)?;
        Ok(Self { entries })
    }

    /// The file text: `CRC SIZE PATH` lines, then a CRC-32 of those lines.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (name, size, crc) in &self.entries {
            text.push_str(&format!("{crc:08x} {size} {name}\n"));
        }
        let own = crc32fast::hash(text.as_bytes());
        format!("{text}{own:08x}\n")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let body_end = text.trim_end_matches('\n').rfind('\n').map(|i| i + 1).unwrap_or(0);
        let (body, own) = text.split_at(body_end);
        if own.trim_end() != format!("{:08x}", crc32fast::hash(body.as_bytes())) {
            return Err("its own checksum does not match".into());
        }
        let mut entries = Vec::new();
        for line in body.lines() {
            let mut parts = line.splitn(3, ' ');
            let (Some(crc), Some(size), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line '{line}' is not CRC SIZE PATH"));
            };
            let crc = u32::from_str_radix(crc, 16).map_err(|_| format!("bad CRC in '{line}'"))?;
            let size = size.parse().map_err(|_| format!("bad size in '{line}'"))?;
            entries.push((name.to_string(), size, crc));
        }
        Ok(Self { entries })
    }

    /// Writes `dir`'s manifest of its data files.
    pub fn write(dir: &Path) -> anyhow::Result<()> {
        let text = Self::of_folder(dir)?.to_text();
        let path = dir.join(crate::schema::files::CHECKSUMS);
        std::fs::write(&path, text).map_err(|err| anyhow::anyhow!("cannot write {} ({err})", path.display()))
    }
}

/// Checks `path` against the manifest of the drill folder holding it (a parent up to three
/// levels up, for partitions), once per run. Files no manifest lists are not checked.
pub fn verify(path: &Path) -> Result<(), DataFileError> {
    let lock = |m: &'static Mutex<Vec<PathBuf>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if lock(&VERIFIED).iter().any(|p| p == path) {
        return Ok(());
    }
    for root in path.ancestors().skip(1).take(3) {
        let manifest_path = root.join(crate::schema::files::CHECKSUMS);
        if !manifest_path.is_file() {
            continue;
        }
        let manifest = {
            let mut cache = MANIFESTS.lock().unwrap_or_else(|p| p.into_inner());
            match cache.iter().find(|(dir, _)| dir == root) {
                Some((_, manifest)) => manifest.clone(),
                None => {
                    let text = std::fs::read(&manifest_path)
                        .map_err(|source| DataFileError::Io { path: manifest_path.clone(), source })?;
                    let bad = |why: String| DataFileError::BadManifest { path: manifest_path.clone(), why };
                    let text = String::from_utf8(text).map_err(|_| bad("not text".into()))?;
                    let manifest = Manifest::parse(&text).map_err(bad)?;
                    cache.push((root.to_path_buf(), manifest.clone()));
                    manifest
                }
            }
        };
        let relative: Vec<String> = match path.strip_prefix(root) {
            Ok(r) => r.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect(),
            Err(_) => return Ok(()),
        };
        let relative = relative.join("/");
        let Some((_, size, crc)) = manifest.entries.iter().find(|(name, _, _)| *name == relative) else {
            return Ok(());
        };
        let (actual_size, actual_crc) = crc_of_file(path)?;
        let mismatch = |why: String| DataFileError::Mismatch { path: path.to_path_buf(), why };
        if actual_size != *size {
            return Err(mismatch(format!("it is {actual_size} bytes, the drill wrote {size}")));
        }
        if actual_crc != *crc {
            return Err(mismatch(format!("its CRC-32 is {actual_crc:08x}, the drill wrote {crc:08x}")));
        }
        VERIFIED.lock().unwrap_or_else(|p| p.into_inner()).push(path.to_path_buf());
        return Ok(());
    }
    Ok(())
}

const HOW_DRILL: &str = "generate the drill again (`dropcase drill start --seed N --force`, or `dropcase generate ... --force`, with the seed in its drill.toml)";
const HOW: &str = "it may be truncated or damaged: if it is part of a drill, generate the drill again (`dropcase drill start --force` or `dropcase generate ... --force`), else export the file again";

/// Records that the running command reads `path`.
pub fn reading(path: &Path) {
    let mut files = READING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !files.iter().any(|f| f == path) {
        files.push(path.to_path_buf());
    }
}

/// The files the running command has opened, for an error raised where the file is unknown.
pub fn files_read() -> Vec<PathBuf> {
    READING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

/// "while reading A, B" for the files recorded so far, or "" when none.
pub fn reading_clause() -> String {
    let files = files_read();
    if files.is_empty() {
        return String::new();
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    format!(" while reading {}", names.join(", "))
}

fn pl_path(path: &Path) -> Result<PlRefPath, DataFileError> {
    PlRefPath::try_from_path(path).map_err(|_| DataFileError::BadPath { path: path.to_path_buf() })
}

/// Checks that `path` is a non-empty regular file.
fn check_regular(path: &Path, kind: &'static str) -> Result<u64, DataFileError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(DataFileError::Missing { path: path.to_path_buf() });
        }
        Err(source) => return Err(DataFileError::Io { path: path.to_path_buf(), source }),
    };
    if meta.is_dir() {
        return Err(DataFileError::NotAFile { path: path.to_path_buf(), kind });
    }
    if meta.len() == 0 {
        return Err(DataFileError::Empty { path: path.to_path_buf() });
    }
    Ok(meta.len())
}

/// Checks a Parquet file: against the drill's checksums when it is part of one, then its
/// footer: magic bytes, decodable metadata, row counts that add up, and column chunks
/// inside the file (one read of the footer).
pub fn check_parquet(path: &Path) -> Result<(), DataFileError> {
    let len = check_regular(path, "Parquet")?;
    verify(path)?;
    check_footer(path, len)
}

/// [`check_parquet`] without the drill's checksum, which [`verify`] then checks when a
/// command reads the file's rows (a drill's tables are all opened, but a query answered
/// from a rollup never reads the 110 MB of a 10M-session `sessions.parquet`). A damaged
/// footer of a drill's file is still named as changed since the drill was generated.
pub fn check_parquet_footer(path: &Path) -> Result<(), DataFileError> {
    let len = check_regular(path, "Parquet")?;
    check_footer(path, len).map_err(|err| match verify(path) {
        Err(mismatch) => mismatch,
        Ok(()) => err,
    })
}

fn check_footer(path: &Path, len: u64) -> Result<(), DataFileError> {
    let damaged = |why: String| DataFileError::Damaged { path: path.to_path_buf(), why };
    let mut file =
        File::open(path).map_err(|source| DataFileError::Io { path: path.to_path_buf(), source })?;
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut file, &mut head)
        .map_err(|_| damaged("shorter than a Parquet header".into()))?;
    if &head != b"PAR1" {
        return Err(damaged("it does not start with the Parquet magic bytes PAR1".into()));
    }
    // The footer decoder is a dependency's; a panic in it is a damaged footer too.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        polars_parquet::parquet::read::read_metadata(&mut file)
    }));
    let metadata = match decoded {
        Ok(Ok(metadata)) => metadata,
        Ok(Err(err)) => return Err(damaged(format!("footer: {err}"))),
        Err(_) => return Err(damaged("the footer does not decode".into())),
    };
    let rows: usize = metadata.row_groups.iter().map(|g| g.num_rows()).sum();
    if rows != metadata.num_rows {
        return Err(damaged(format!(
            "the footer says {} rows but its row groups hold {rows}",
            metadata.num_rows
        )));
    }
    let columns = metadata.schema_descr.columns().len();
    for (i, group) in metadata.row_groups.iter().enumerate() {
        if group.n_columns() != columns {
            return Err(damaged(format!(
                "row group {i} has {} columns, the schema {columns}",
                group.n_columns()
            )));
        }
        for chunk in group.parquet_columns() {
            // Computed here: the dependency's `byte_range` panics on an overflowing length.
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let size = chunk.compressed_size();
            let inside = start >= 4
                && size >= 0
                && start
                    .checked_add(size)
                    .and_then(|end| u64::try_from(end).ok())
                    .is_some_and(|end| end <= len);
            if !inside || chunk.num_values() < 0 {
                return Err(damaged(format!(
                    "column '{}' of row group {i} points outside the file",
                    chunk.descriptor().path_in_schema.join(".")
                )));
            }
        }
    }
    Ok(())
}

/// The value of `key` in a Parquet file's key-value metadata, if it has one. Read from the
/// footer of a file [`check_parquet`] (or [`scan_parquet`]) has checked.
pub fn parquet_metadata_value(path: &Path, key: &str) -> Result<Option<String>, DataFileError> {
    let mut file =
        File::open(path).map_err(|source| DataFileError::Io { path: path.to_path_buf(), source })?;
    let metadata = polars_parquet::parquet::read::read_metadata(&mut file)
        .map_err(|err| DataFileError::Damaged { path: path.to_path_buf(), why: format!("footer: {err}") })?;
    Ok(metadata
        .key_value_metadata()
        .iter()
        .flatten()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()))
}

/// Every `*.parquet` file under `dir` (Hive partitions are folders of folders).
/// The Parquet files of a folder: its own, and those of its Hive partitions (`key=value`
/// folders, at any depth). Other folders, symbolic links to folders and hidden entries are
/// not entered, so `--data /` or `--data ~` answers at once instead of walking the disk.
fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataFileError> {
    let io = |source| DataFileError::Io { path: dir.to_path_buf(), source };
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?.is_dir()))))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for (path, is_dir) in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if is_dir {
            if name.contains('=') {
                parquet_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "parquet" || e == "pq") {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks and lazily scans a Parquet file or a folder of them (every file's footer is
/// checked); `hive` reads `key=value` folder names as columns.
pub fn scan_parquet(path: &Path, hive: bool) -> anyhow::Result<LazyFrame> {
    let (frame, files) = scan_parquet_unverified(path, hive)?;
    for file in &files {
        verify(file)?;
    }
    Ok(frame)
}

/// [`scan_parquet`] with the drill's checksums left to the reader of the rows: the frame,
/// and the files to [`verify`] before its rows are read.
pub fn scan_parquet_unverified(path: &Path, hive: bool) -> anyhow::Result<(LazyFrame, Vec<PathBuf>)> {
    reading(path);
    let mut args = ScanArgsParquet::default();
    let files = if path.is_dir() {
        let mut files = Vec::new();
        parquet_files(path, &mut files)?;
        if files.is_empty() {
            return Err(DataFileError::NoParquet { path: path.to_path_buf() }.into());
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    for file in &files {
        check_parquet_footer(file)?;
    }
    if hive {
        args.hive_options = HiveOptions::new_enabled();
    }
    let frame = LazyFrame::scan_parquet(pl_path(path)?, args)
        .map_err(|err| anyhow::anyhow!("{}: cannot scan as Parquet: {err}", path.display()))?;
    Ok((frame, files))
}

/// Checks that a CSV file exists, is a file and is not empty, and returns a reader on it
/// for the caller's options.
pub fn csv_reader(path: &Path) -> anyhow::Result<LazyCsvReader> {
    reading(path);
    check_regular(path, "CSV")?;
    verify(path)?;
    Ok(LazyCsvReader::new(pl_path(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn write_parquet(path: &Path) -> Vec<u8> {
        let mut df = df!("a" => [1i64, 2, 3], "b" => ["x", "y", "z"]).unwrap();
        let file = File::create(path).unwrap();
        ParquetWriter::new(file).finish(&mut df).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_good_file_passes_and_damaged_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let bytes = write_parquet(&path);
        check_parquet(&path).unwrap();

        // Truncated: the end magic is gone.
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = check_parquet(&path).unwrap_err().to_string();
        assert!(err.contains("t.parquet") && err.contains("not a readable Parquet file"), "{err}");

        // Empty, and a folder in place of the file.
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(check_parquet(&path), Err(DataFileError::Empty { .. })));
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(check_parquet(&path), Err(DataFileError::NotAFile { .. })));
        assert!(matches!(
            check_parquet(&dir.path().join("none.parquet")),
            Err(DataFileError::Missing { .. })
        ));

        // A CSV posing as Parquet.
        let csv = dir.path().join("c.parquet");
        std::fs::write(&csv, "a,b\n1,2\n").unwrap();
        assert!(matches!(check_parquet(&csv), Err(DataFileError::Damaged { .. })));
    }

    #[test]
    fn the_manifest_finds_any_changed_byte() {
        let dir = tempfile::tempdir().unwrap();
        let drill = dir.path().join("drill");
        std::fs::create_dir_all(drill.join("sessions/date=2026-03-01")).unwrap();
        let part = drill.join("sessions/date=2026-03-01/part-0.parquet");
        let bytes = write_parquet(&part);
        std::fs::write(drill.join("notes.csv"), "a,b\n1,2\n").unwrap();
        Manifest::write(&drill).unwrap();
        let text = std::fs::read_to_string(drill.join(crate::schema::files::CHECKSUMS)).unwrap();
        let manifest = Manifest::parse(&text).unwrap();
        let names: Vec<&str> = manifest.entries.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["notes.csv", "sessions/date=2026-03-01/part-0.parquet"]);
        verify(&part).unwrap();

        // A changed byte in the middle, which no footer check would see.
        let other = dir.path().join("copy");
        std::fs::create_dir_all(other.join("sessions/date=2026-03-01")).unwrap();
        std::fs::copy(
            drill.join(crate::schema::files::CHECKSUMS),
            other.join(crate::schema::files::CHECKSUMS),
        )
        .unwrap();
        let copied = other.join("sessions/date=2026-03-01/part-0.parquet");
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 3] ^= 1;
        std::fs::write(&copied, &flipped).unwrap();
        let err = check_parquet(&copied).unwrap_err().to_string();
        assert!(err.contains("part-0.parquet") && err.contains("CRC-32"), "{err}");

        // A damaged manifest is refused itself.
        let mut broken = text.clone().into_bytes();
        broken[2] ^= 1;
        assert!(Manifest::parse(std::str::from_utf8(&broken).unwrap()).is_err());
    }

    /// Every single-byte flip in the footer (metadata, length, magic) is either refused
    /// here or leaves a footer that still decodes to the same shape.
    #[test]
    fn flipped_footer_bytes_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.parquet");
        let bytes = write_parquet(&good);
        let meta_len =
            u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
        let footer_start = bytes.len() - 8 - meta_len;
        let path = dir.path().join("flipped.parquet");
        let mut refused = 0;
        for at in footer_start..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xFF;
            std::fs::write(&path, &flipped).unwrap();
            if check_parquet(&path).is_err() {
                refused += 1;
            }
        }
        // The length and magic bytes (8) are always caught; most metadata bytes are too.
        assert!(refused >= 8, "only {refused} of {} flips refused", bytes.len() - footer_start);
    }
}
