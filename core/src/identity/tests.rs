use super::*;

#[test]
fn numbers_compare_canonically() {
    assert!(same_number("12025550101", "12025550101"));
    assert!(same_number("2025550101", "12025550101"));
    assert!(!same_number("12025550101", "12025550102"));
    assert!(!same_number("101", "1101"));
    assert_eq!(
        uri_user("sip:+12025550177@127.0.0.20;user=phone").as_deref(),
        Some("+12025550177")
    );
    assert_eq!(
        uri_user("tel:+12025550177;npdi").as_deref(),
        Some("+12025550177")
    );
    assert_eq!(uri_user("sip:example.com"), None);
}
