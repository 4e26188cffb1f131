//! Pixel tests of the PNGs (decoded by the independent decoder in tests/cli/pixels.rs,
//! which handles all five PNG filter types) and structure tests of the SVGs (parsed as XML).

use std::collections::HashSet;

use chrono::NaiveDate;

use super::*;

#[path = "../../tests/cli/pixels.rs"]
mod pixels;
use pixels::{Decoded, decode_png};

fn colours(image: &Decoded) -> HashSet<[u8; 3]> {
    image.rgb.iter().copied().collect()
}

fn rgb(c: plotters::style::RGBColor) -> [u8; 3] {
    [c.0, c.1, c.2]
}

/// Checks a PNG: decodes, has the size, is not blank, shows these colours and dark text.
fn check_png(bytes: &[u8], size: Size, expected: &[plotters::style::RGBColor]) -> Decoded {
    let image = decode_png(bytes);
    assert_eq!((image.width, image.height), (size.width, size.height));
    let ink = image.rgb.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(ink * 50 > image.rgb.len(), "image is (nearly) blank: {ink} non-white pixels");
    let seen = colours(&image);
    for c in expected {
        assert!(seen.contains(&rgb(*c)), "colour {c:?} does not appear");
    }
    // The title is drawn in dark ink in the top band: the embedded font rendered glyphs.
    let top = (size.height / 12) as usize * size.width as usize;
    assert!(image.rgb[..top].iter().any(|p| p.iter().all(|&v| v < 0x60)), "no title text rendered");
    image
}

/// Parses an SVG and returns the distinct stroke colours of its polylines.
fn svg_line_colours(svg: &str) -> HashSet<String> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "polyline")
        .filter(|n| n.attribute("stroke-width") == Some("3"))
        .filter_map(|n| n.attribute("stroke").map(str::to_string))
        .collect()
}

fn svg_fills(svg: &str, tag: &str) -> HashSet<String> {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    doc.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .filter_map(|n| n.attribute("fill").map(str::to_string))
        .collect()
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn sample_trend(segments: usize) -> TrendChart {
    let series = (0..segments)
        .map(|s| Series {
            label: format!("segment {s}"),
            points: (1..=28)
                .map(|d| {
                    let drop = if s == 0 && d >= 22 { 0.006 } else { 0.0 };
                    let v = 0.031 + 0.002 * s as f64 + 0.001 * ((d % 7) as f64 / 7.0) - drop;
                    Point::day(date(d), v).with_ci(v - 0.002, v + 0.002)
                })
                .collect(),
        })
        .collect();
    TrendChart {
        title: "android conversion fell from Mar 22; other platforms held".into(),
        y_label: "conversion (% of sessions)".into(),
        scale: Scale::Percent,
        period: Period::Day,
        series,
        windows: vec![
            Shade { label: "baseline".into(), from: date(15), to: date(21) },
            Shade { label: "current".into(), from: date(22), to: date(28) },
        ],
        marker: Some(Marker {
            at: date(22).and_hms_opt(0, 0, 0).unwrap(),
            label: "change starts Mar 22".into(),
        }),
        reference: None,
    }
}

fn sample_contributions() -> ContributionChart {
    ContributionChart {
        title: "android's rate drop explains most of the fall in conversion".into(),
        x_label: "contribution to the change in conversion (percentage points)".into(),
        scale: Scale::PercentPoints,
        rows: vec![
            Contribution { label: "platform=ios".into(), mix: 0.0004, rate: -0.0002 },
            Contribution { label: "platform=android".into(), mix: -0.0003, rate: -0.0041 },
            Contribution { label: "platform=web".into(), mix: -0.0001, rate: 0.0004 },
        ],
    }
}

fn sample_funnel() -> FunnelChart {
    let step = |label: &str, b: (u64, u64), c: (u64, u64), significant| FunnelStepRates {
        label: label.into(),
        baseline: Estimate::proportion(b.0, b.1),
        current: Estimate::proportion(c.0, c.1),
        significant,
    };
    FunnelChart {
        title: "checkout → purchase broke: −14% while earlier steps held".into(),
        windows: ["baseline Mar 15–21".into(), "current Mar 22–28".into()],
        steps: vec![
            step("session → product", (60_000, 100_000), (59_800, 100_000), false),
            step("product → cart", (15_000, 60_000), (14_900, 59_800), false),
            step("cart → checkout", (9_000, 15_000), (8_950, 14_900), false),
            step("checkout → purchase", (6_300, 9_000), (5_400, 8_950), true),
        ],
    }
}

fn sample_forest() -> ForestChart {
    ForestChart {
        title: "Treatment lifts conversion; revenue per user is inconclusive".into(),
        x_label: "relative lift of treatment over control".into(),
        scale: Scale::SignedPercent,
        rows: vec![
            ForestRow { label: "conversion".into(), estimate: 0.04, lo: 0.01, hi: 0.07 },
            ForestRow { label: "revenue per user".into(), estimate: 0.01, lo: -0.03, hi: 0.05 },
            ForestRow { label: "page load p75".into(), estimate: -0.05, lo: -0.08, hi: -0.02 },
        ],
        reference: 0.0,
    }
}

fn sample_counts() -> CountsChart {
    CountsChart {
        title: "Sample ratio mismatch: treatment got 2.4% fewer users than planned (p < 0.001)".into(),
        y_label: "users".into(),
        groups: vec![
            CountGroup { label: "control".into(), observed: 50_600.0, expected: 50_000.0 },
            CountGroup { label: "treatment".into(), observed: 49_400.0, expected: 50_000.0 },
        ],
    }
}

#[test]
fn size_parses_width_x_height_and_rejects_nonsense() {
    assert_eq!("1200x700".parse::<Size>().unwrap(), Size::default());
    assert_eq!("800X600".parse::<Size>().unwrap(), Size { width: 800, height: 600 });
    for bad in ["1200", "axb", "10x10", "1200x99999", "-5x700"] {
        let err = bad.parse::<Size>().unwrap_err().to_string();
        assert!(err.contains(bad), "{err}");
    }
}

#[test]
fn image_format_follows_the_extension() {
    assert_eq!(ImageFormat::from_path(Path::new("a/b.PNG")).unwrap(), ImageFormat::Png);
    assert_eq!(ImageFormat::from_path(Path::new("b.svg")).unwrap(), ImageFormat::Svg);
    let err = ImageFormat::from_path(Path::new("chart.jpg")).unwrap_err().to_string();
    assert!(err.contains(".png or .svg"), "{err}");
}

#[test]
fn percent_axes_read_as_percent() {
    assert_eq!(Scale::Percent.tick(0.031, 0.01), "3.10%");
    assert_eq!(Scale::Percent.tick(0.25, 1.0), "25%");
    assert_eq!(Scale::PercentPoints.tick(-0.004, 0.01), "-0.40 pp");
    assert_eq!(Scale::SignedPercent.tick(0.05, 0.2), "+5%");
    assert_eq!(Scale::SignedPercent.tick(0.05, 0.1), "+5.0%");
    assert_eq!(Scale::Count.tick(50214.0, 1e5), "50,214");
}

#[test]
fn trend_png_has_the_size_the_series_colours_and_text() {
    let size = Size { width: 900, height: 500 };
    let png = to_png(&sample_trend(3), size).unwrap();
    check_png(&png, size, &PALETTE[..3]);
}

#[test]
fn trend_svg_is_xml_with_one_line_colour_per_series() {
    let svg = to_svg(&sample_trend(4), Size::default()).unwrap();
    let lines = svg_line_colours(&svg);
    let expected: HashSet<String> = PALETTE[..4].iter().map(|c| hex(*c)).collect();
    assert_eq!(lines, expected);
    assert!(svg.contains("Mar 22"), "dates read as dates");
    assert!(svg.contains('%'), "percent axis");
}

#[test]
fn trend_breaks_the_line_at_missing_values_and_survives_empty_input() {
    let mut chart = sample_trend(1);
    chart.series[0].points[10].value = f64::NAN;
    let svg = to_svg(&chart, Size::default()).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let runs = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "polyline" && n.attribute("stroke-width") == Some("3"))
        .count();
    assert_eq!(runs, 2);
    chart.series.clear();
    chart.windows.clear();
    to_png(&chart, Size::default()).unwrap();
}

#[test]
fn hourly_trend_labels_hours() {
    let base = date(22).and_hms_opt(0, 0, 0).unwrap();
    let chart = TrendChart {
        period: Period::Hour,
        series: vec![Series {
            label: "card".into(),
            points: (0..36).map(|h| Point::new(base + chrono::Duration::hours(h), 0.6)).collect(),
        }],
        windows: vec![],
        marker: None,
        ..sample_trend(0)
    };
    let svg = to_svg(&chart, Size::default()).unwrap();
    assert!(svg.contains(":00"), "hour ticks");
}

#[test]
fn contributions_sorted_and_stacked() {
    let chart = sample_contributions();
    let order: Vec<&str> = chart.sorted().iter().map(|r| r.label.as_str()).collect();
    assert_eq!(order, ["platform=android", "platform=web", "platform=ios"]);
    let size = Size::default();
    check_png(&to_png(&chart, size).unwrap(), size, &[PALETTE[0], PALETTE[1]]);
    let fills = svg_fills(&to_svg(&chart, size).unwrap(), "rect");
    assert!(fills.contains(&hex(PALETTE[0])) && fills.contains(&hex(PALETTE[1])), "{fills:?}");
}

#[test]
fn funnel_png_and_svg() {
    let size = Size { width: 1000, height: 600 };
    check_png(&to_png(&sample_funnel(), size).unwrap(), size, &[PALETTE[0], style::GREY, PALETTE[3]]);
    let svg = to_svg(&sample_funnel(), size).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bars = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.attribute("fill") == Some(&hex(PALETTE[0])))
        .count();
    assert!(bars >= 4, "one current-window bar per step (and the legend), got {bars}");
    assert!(svg.contains("(significant)"));
}

#[test]
fn forest_colours_rows_by_whether_the_interval_excludes_zero() {
    let size = Size::default();
    check_png(&to_png(&sample_forest(), size).unwrap(), size, &[PALETTE[0], PALETTE[3], style::GREY]);
    let svg = to_svg(&sample_forest(), size).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    assert!(svg.contains("+4.00% [+1.00%, +7.00%]"));
}

#[test]
fn counts_chart_shows_observed_and_expected() {
    let size = Size { width: 640, height: 400 };
    check_png(&to_png(&sample_counts(), size).unwrap(), size, &[PALETTE[0], style::GREY]);
    let svg = to_svg(&sample_counts(), size).unwrap();
    assert!(svg.contains("50,600") && svg.contains("-1.20% vs expected"), "{svg}");
}

#[test]
fn save_picks_the_format_by_extension_and_writes_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("chart.png");
    let svg_path = dir.path().join("chart.svg");
    counts(&sample_counts(), &png_path, Size::default()).unwrap();
    counts(&sample_counts(), &svg_path, Size::default()).unwrap();
    assert_eq!(&std::fs::read(&png_path).unwrap()[..4], b"\x89PNG");
    assert!(std::fs::read_to_string(&svg_path).unwrap().starts_with("<svg"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary files left");
    assert!(trend(&sample_trend(1), &dir.path().join("x.gif"), Size::default()).is_err());
}

/// Writes every sample chart as PNG and SVG into `$DROPCASE_PLOT_SAMPLES`, for looking at.
#[test]
#[ignore = "writes sample charts for a person to look at"]
fn render_samples() {
    let dir = std::path::PathBuf::from(
        std::env::var("DROPCASE_PLOT_SAMPLES").unwrap_or("/tmp/plot-samples".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["png", "svg"] {
        trend(&sample_trend(3), &dir.join(format!("trend.{ext}")), Size::default()).unwrap();
        contributions(&sample_contributions(), &dir.join(format!("contributions.{ext}")), Size::default())
            .unwrap();
        funnel(&sample_funnel(), &dir.join(format!("funnel.{ext}")), Size::default()).unwrap();
        forest(&sample_forest(), &dir.join(format!("forest.{ext}")), Size::default()).unwrap();
        counts(&sample_counts(), &dir.join(format!("counts.{ext}")), Size::default()).unwrap();
    }
}
