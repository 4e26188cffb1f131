//! `--plot FILE --size WxH` end to end (issue 7): the chart is written in the format its
//! extension names, at the requested size, and bad flags are usage errors.

use crate::pixels::decode_png;
use crate::support::Sandbox;

#[test]
fn srm_plot_writes_a_png_of_the_requested_size() {
    let sb = Sandbox::new();
    sb.cmd(&["ab", "srm", "--counts", "50600,49400", "--plot", "srm.png", "--size", "800x500"])
        .assert()
        .success()
        .stderr(predicates::str::contains("chart written to srm.png"));
    let image = decode_png(&std::fs::read(sb.join("srm.png")).unwrap());
    assert_eq!((image.width, image.height), (800, 500));
    assert!(image.ink_share() > 0.05, "chart is (nearly) blank");
    assert!(image.rgb.contains(&[0x00, 0x72, 0xB2]), "observed bars in Okabe–Ito blue");
}

#[test]
fn srm_plot_svg_states_the_verdict_in_its_title() {
    let sb = Sandbox::new();
    sb.cmd(&["ab", "srm", "--counts", "50600,49400", "--plot", "srm.svg"]).assert().success();
    let svg = std::fs::read_to_string(sb.join("srm.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().attribute("width"), Some("1200"));
    assert!(svg.contains("Sample ratio mismatch: arm 2 got 49.40% of users"), "title states the finding");
}

#[test]
fn bad_plot_flags_are_value_errors() {
    // A value clap rejects is a bad value (exit 1), like any other (#13).
    let sb = Sandbox::new();
    sb.cmd(&["ab", "srm", "--counts", "5,6", "--plot", "chart.jpg"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(".png or .svg"));
    sb.cmd(&["ab", "srm", "--counts", "5,6", "--plot", "c.png", "--size", "big"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("WIDTHxHEIGHT"));
    assert!(!sb.join("c.png").exists());
}

/// `ab analyze --plot` draws a forest of per-metric lifts and `ab daily --plot` the daily
/// and cumulative lift, on an experiment drill.
#[test]
fn experiment_readouts_draw_forest_and_lift_lines() {
    let sandbox = Sandbox::new();
    sandbox.cmd(&["exp", "start", "--seed", "5", "--dir", "e"]).assert().success();
    sandbox.cmd(&["ab", "analyze", "--plot", "forest.svg"]).assert().success();
    let svg = std::fs::read_to_string(sandbox.join("forest.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert!(svg.contains("(primary)") && svg.contains("(guardrail)"), "one row per metric role");
    sandbox.cmd(&["ab", "daily", "--plot", "daily.svg"]).assert().success();
    let svg = std::fs::read_to_string(sandbox.join("daily.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert!(svg.contains("daily lift") && svg.contains("cumulative lift"));
}
