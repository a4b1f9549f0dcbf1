//! Every value placed in a DN or a filter goes through here (RFC 4514, RFC 4515), so a name
//! like `Smith)(uid=*` or `O'Brien, Jr.` stands for exactly itself.

/// The DN `{attr}={value},{parent}` with `value` escaped as an RDN value.
pub fn child_dn(attr: &str, value: &str, parent: &str) -> String {
    format!("{attr}={},{parent}", ldap3::dn_escape(value))
}

/// The filter `({attr}={value})` matching `value` exactly, wildcards and parentheses included.
pub fn equality_filter(attr: &str, value: &str) -> String {
    format!("({attr}={})", ldap3::ldap_escape(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_with_ldap_syntax_are_escaped() {
        assert_eq!(
            equality_filter("sn", "Smith)(uid=*"),
            r"(sn=Smith\29\28uid=\2a)"
        );
        assert_eq!(
            child_dn("cn", "O'Brien, Jr.", "ou=people,dc=x"),
            r"cn=O'Brien\2c Jr.,ou=people,dc=x"
        );
        assert_eq!(child_dn("cn", "#lead ", "dc=x"), r"cn=\23lead\20,dc=x");
        assert_eq!(child_dn("uid", "e77777", "dc=x"), "uid=e77777,dc=x");
    }

    /// Undoes `\xx` escapes, so tests can check an escaped value stands for the original.
    fn unescape(escaped: &str) -> Option<String> {
        let bytes = escaped.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' {
                let hex = escaped.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    proptest! {
        #[test]
        fn filter_values_hold_no_active_syntax_and_round_trip(value in "(?s:.){0,30}|[\\x{0}\\x{200B}\\x{202E}\\x{2028}()*\\\\=a-z]{0,12}") {
            let filter = equality_filter("sn", &value);
            let inner = &filter[4..filter.len() - 1];
            prop_assert!(!inner.contains(['(', ')', '*', '\0']));
            prop_assert_eq!(unescape(inner), Some(value));
        }

        #[test]
        fn dn_values_hold_no_active_syntax_and_round_trip(value in "(?s:.){0,30}|[\\x{0}\\x{200B}\\x{202E}\\x{2028} #,+\"\\\\<>;=a-z]{0,12}") {
            let dn = child_dn("cn", &value, "dc=x");
            let inner = &dn[3..dn.len() - 5];
            let bare: String = {
                // Drop escape sequences; what is left must hold no DN syntax.
                let mut s = String::new();
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' { chars.next(); chars.next(); } else { s.push(c); }
                }
                s
            };
            prop_assert!(!bare.contains([',', '+', '"', '\\', '<', '>', ';', '=', '\0']));
            prop_assert!(!inner.starts_with([' ', '#']));
            prop_assert!(!inner.ends_with(' ') || inner.ends_with("\\20"));
            prop_assert_eq!(unescape(inner), Some(value));
        }
    }
}
