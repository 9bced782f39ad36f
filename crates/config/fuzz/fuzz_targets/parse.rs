//! Fuzzes the whole reader: preprocessor, tokenizer, block tree, model building and the
//! printer. Any input must give Ok or Invalid, never a panic or a hang; a config that loads
//! must print to text that loads again to the same model.
#![no_main]

use std::path::Path;

use keepalived_config::{LoadOptions, load_with_host};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // `include /proc/kmsg` and friends would block on this machine: keep the fuzzer off the
    // file system (include handling has its own unit tests).
    if text.contains("include") {
        return;
    }
    // A virtual path in a directory with no config files, so `include` only finds nothing.
    let path = Path::new("/nonexistent-fuzz-dir/keepalived.conf");
    let opts = LoadOptions { config_id: Some("fuzz".into()), interfaces: None, host_checks: false };
    if let Ok(loaded) = load_with_host(&text, path, &opts, "fuzz-host") {
        let printed = loaded.config.to_keepalived_conf();
        let again = load_with_host(&printed, path, &opts, "fuzz-host")
            .unwrap_or_else(|e| panic!("printed config does not load: {e:?}\n{printed}"));
        assert_eq!(loaded.config, again.config, "round trip changed the model\n{printed}");
    }
});
