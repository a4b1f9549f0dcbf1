//! Who is on the other end of a TLS connection: the subject of the client certificate it
//! presented (verified by the server's TLS against its client CA before any call is read).

use tonic::Request;

/// The subject of the caller's certificate (`CN=ticketing, O=District`); `None` without TLS
/// or without a certificate.
pub(crate) fn subject<T>(request: &Request<T>) -> Option<String> {
    let certs = request.peer_certs()?;
    let der = certs.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.subject().to_string())
}

/// Whether a configured subject names the presented one: attribute by attribute, blind to
/// case and to the spaces after commas (`CN=Ticketing,O=District` is `cn=ticketing, o=district`).
pub(crate) fn same_subject(configured: &str, presented: &str) -> bool {
    fn parts(dn: &str) -> Vec<String> {
        dn.split(',')
            .map(|rdn| {
                let (kind, value) = rdn.split_once('=').unwrap_or((rdn, ""));
                format!("{}={}", kind.trim(), value.trim()).to_lowercase()
            })
            .collect()
    }
    parts(configured) == parts(presented)
}

#[cfg(test)]
mod tests {
    use super::same_subject;

    #[test]
    fn subjects_match_attribute_by_attribute() {
        assert!(same_subject(
            "CN=ticketing,O=District",
            "CN=ticketing, O=District"
        ));
        assert!(same_subject("cn=Ticketing", "CN=ticketing"));
        assert!(!same_subject("CN=ticketing", "CN=ticketing, O=District"));
        assert!(!same_subject("CN=ticketing", "CN=ticketing2"));
        assert!(!same_subject(
            "O=District,CN=ticketing",
            "CN=ticketing, O=District"
        ));
    }
}
