//! Embeds every `migrations/NNNN_name.sql` file into the library, in version order, so the
//! binaries carry their schema and cannot run against a folder that drifted from them.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(u32, String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (version, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("{stem}: migration files are named NNNN_name.sql"));
            let version = version
                .parse()
                .unwrap_or_else(|_| panic!("{stem}: migration files are named NNNN_name.sql"));
            println!("cargo:rerun-if-changed={}", path.display());
            (version, name.to_owned(), path.canonicalize().unwrap())
        })
        .collect();
    files.sort();
    for pair in files.windows(2) {
        assert_ne!(
            pair[0].0, pair[1].0,
            "two migrations share version {}",
            pair[0].0
        );
    }
    let mut out = String::from("&[\n");
    for (version, name, path) in files {
        writeln!(
            out,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({:?}) }},",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(dest, out).unwrap();
}
