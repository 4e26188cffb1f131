//! Text for PNG charts, laid out here rather than by plotters: its ab_glyph renderer drops
//! each glyph's left side bearing, so letters sit unevenly ("baselin e"). [`GlyphBackend`]
//! wraps the bitmap backend and draws text with ab_glyph the usual way: a caret advanced by
//! each glyph's advance width plus the pair's kerning, each glyph outlined at its sub-pixel
//! caret position and drawn from its pixel bounds. The text box (width = advances plus
//! kerning) is plotters' own, so anchors and chart layout stay as they were.

use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// The embedded DejaVu Sans: the only face charts use.
pub(crate) static DEJAVU: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn dejavu() -> &'static FontRef<'static> {
    static FONT: std::sync::OnceLock<FontRef<'static>> = std::sync::OnceLock::new();
    // Compiled in and known to parse (register_font checks the same bytes first).
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU).expect("the embedded DejaVu Sans parses"))
}

/// Pixels of `text` at `size` px, relative to the text box's top left, with their coverage.
/// The baseline sits at `size / 2` from the top, where plotters puts it.
pub fn glyph_pixels(text: &str, size: f64) -> Vec<(i32, i32, f32)> {
    let font = dejavu().as_scaled(size as f32);
    let baseline = size as f32 / 2.0;
    let mut pixels = Vec::new();
    let mut caret = 0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            caret += font.kern(previous, id);
        }
        let glyph = id.with_scale_and_position(font.scale(), point(caret, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| pixels.push((left + x as i32, top + y as i32, coverage)));
        }
        caret += font.h_advance(id);
        previous = Some(id);
    }
    pixels
}

/// A backend that draws everything through `inner` except text, which it lays out itself.
pub struct GlyphBackend<DB> {
    inner: DB,
}

impl<DB> GlyphBackend<DB> {
    pub fn new(inner: DB) -> Self {
        Self { inner }
    }
}

impl<DB: DrawingBackend> DrawingBackend for GlyphBackend<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // The same box and anchoring as plotters' default `draw_text`.
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        for (x, y, coverage) in glyph_pixels(text, style.size()) {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                self.inner.draw_pixel((x, y), color.mix(f64::from(coverage)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns holding ink, left to right, merged into runs: one run per glyph of a word
    /// whose letters do not touch.
    fn ink_runs(pixels: &[(i32, i32, f32)]) -> Vec<(i32, i32)> {
        let mut columns: Vec<i32> = pixels.iter().filter(|p| p.2 > 0.3).map(|p| p.0).collect();
        columns.sort_unstable();
        columns.dedup();
        let mut runs: Vec<(i32, i32)> = Vec::new();
        for x in columns {
            match runs.last_mut() {
                Some(run) if run.1 + 1 == x => run.1 = x,
                _ => runs.push((x, x)),
            }
        }
        runs
    }

    #[test]
    fn each_letter_starts_at_its_caret_plus_its_left_side_bearing() {
        // Each glyph's ink must start at the caret (advances plus kerning so far) plus the
        // glyph's left side bearing, the font's own metrics. plotters' renderer starts the
        // ink at the caret (the bearing dropped: about 5 px for DejaVu's n at 60 px), which
        // is the uneven spacing of "baselin e".
        let font = dejavu().as_scaled(60.0);
        let text = "nne";
        let runs = ink_runs(&glyph_pixels(text, 60.0));
        assert_eq!(runs.len(), 3, "{runs:?}");
        let mut caret = 0f32;
        let mut previous = None;
        for (c, run) in text.chars().zip(&runs) {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                caret += font.kern(previous, id);
            }
            let expected = caret + font.h_side_bearing(id);
            assert!(font.h_side_bearing(id) > 2.0, "{c}: a bearing worth testing");
            assert!((run.0 as f32 - expected).abs() <= 1.0, "{c}: ink at {} vs {expected}: {runs:?}", run.0);
            caret += font.h_advance(id);
            previous = Some(id);
        }
    }

    #[test]
    fn the_text_box_width_matches_the_ink() {
        // The ink of "baseline" ends within a pixel or two of the caret, the width plotters
        // lays the box out with (advances plus kerning).
        let font = dejavu().as_scaled(30.0);
        let width: f32 = "baseline".chars().map(|c| font.h_advance(font.glyph_id(c))).sum();
        let right = glyph_pixels("baseline", 30.0).iter().map(|p| p.0).max().unwrap();
        assert!((width - right as f32).abs() < 4.0, "{width} vs {right}");
    }
}
