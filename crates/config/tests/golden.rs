//! Golden tests: each config under tests/golden/ (shaped like one of keepalived's sample
//! configs) parses to the model checked in beside it as JSON. `UPDATE_GOLDEN=1` rewrites the
//! JSON files; review the diff before committing.

use std::path::{Path, PathBuf};

use keepalived_config::*;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Loads with a fixed host name, config id and instance so the output is machine-independent.
fn render(conf: &Path) -> String {
    let text = std::fs::read_to_string(conf).unwrap();
    let opts = LoadOptions {
        config_id: Some("dr1".into()),
        interfaces: None,
        host_checks: false,
    };
    let dir = golden_dir();
    let relative = |d: &Diagnostic| {
        let mut d = d.clone();
        d.file = d
            .file
            .strip_prefix(&dir)
            .map(Path::to_path_buf)
            .unwrap_or(d.file);
        d.to_string()
    };
    let value = match load_with_host(&text, conf, &opts, "golden-host.example.net") {
        Ok(l) => serde_json::json!({
            "config": l.config,
            "warnings": l.diagnostics.iter().map(relative).collect::<Vec<_>>(),
        }),
        Err(LoadError::Invalid { diagnostics }) => panic!(
            "{}:\n{}",
            conf.display(),
            diagnostics
                .iter()
                .map(relative)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Err(e) => panic!("{e}"),
    };
    // ${_PWD} expands to the absolute directory; make it stable.
    let mut s = serde_json::to_string_pretty(&value).unwrap();
    s = s.replace(&dir.display().to_string(), "<golden>");
    s.push('\n');
    s
}

#[test]
fn golden_configs_parse_to_the_checked_in_models() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut confs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    confs.sort();
    assert!(
        confs.len() >= 14,
        "expected the sample-config set, found {}",
        confs.len()
    );
    let mut failed = Vec::new();
    for conf in &confs {
        let got = render(conf);
        let json = conf.with_extension("json");
        if update {
            std::fs::write(&json, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&json)
            .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", json.display()));
        if want != got {
            failed.push(format!("{}\n--- got ---\n{got}", conf.display()));
        }
    }
    assert!(failed.is_empty(), "golden mismatch:\n{}", failed.join("\n"));
}

#[test]
fn golden_models_round_trip_through_the_printer() {
    let opts = LoadOptions {
        config_id: Some("dr1".into()),
        interfaces: None,
        host_checks: false,
    };
    for e in std::fs::read_dir(golden_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|e| e != "conf") {
            continue;
        }
        let a = load_with_host(&std::fs::read_to_string(&p).unwrap(), &p, &opts, "h")
            .unwrap()
            .config;
        let text = a.to_keepalived_conf();
        let b = load_with_host(&text, Path::new("/printed.conf"), &opts, "h")
            .unwrap_or_else(|e| panic!("{}: {e:?}\n{text}", p.display()))
            .config;
        assert_eq!(a, b, "{}", p.display());
    }
}
