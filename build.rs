//! Embeds every `scenarios/*.toml` into the binary (see `src/scenario/catalogue.rs`).

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=scenarios");
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .expect("scenarios/ folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("[\n");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // Resolved against the crate that compiles this file, so several checkouts sharing
        // one target directory each embed their own scenarios.
        writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/scenarios/{name}.toml\"))),"
        )
        .unwrap();
    }
    out.push(']');
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("catalogue.rs");
    std::fs::write(dest, out).unwrap();
}
