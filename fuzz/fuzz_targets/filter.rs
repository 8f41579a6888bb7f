//! Call filter expressions (`earshot analyze --filter`, the app's Filter box) and case file-name grouping: any
//! text parses to a filter or an error with its position, never a panic; any file name gives a capture-point key.
#![no_main]

use earshot_core::case::point_key;
use earshot_core::filter::Filter;
use earshot_core::model::Analysis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Filter::parse(&text) {
        Ok(f) => {
            std::hint::black_box(f.select(&Analysis::default()));
        }
        Err(e) => assert!(e.at <= text.len().max(earshot_core::filter::MAX_FILTER_LEN)),
    }
    std::hint::black_box(point_key(std::path::Path::new(&*text)));
});
