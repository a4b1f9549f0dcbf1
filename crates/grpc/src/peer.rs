//! Who is on the other end of a TLS connection: the client certificate it presented (its
//! chain verified by the server's TLS against the client CAs before any call is read), its
//! subject as attributes, and whether the helpdesk's own CA issued it.

use tonic::Request;
use x509_parser::{
    certificate::X509Certificate,
    objects::{oid_registry, oid2abbrev},
    pem::Pem,
};

/// The caller's certificate (DER); `None` without TLS or without a certificate.
pub(crate) fn leaf<T>(request: &Request<T>) -> Option<Vec<u8>> {
    let certs = request.peer_certs()?;
    Some(certs.first()?.as_ref().to_vec())
}

/// A subject as its attributes in order, each `(type, value)` with the type's short name
/// in capitals (`CN`, `O`, `OU`) or its OID: a comma inside a value stays inside it.
pub(crate) type Name = Vec<(String, String)>;

/// The subject of the certificate `der`; `None` when it does not parse.
pub(crate) fn subject(der: &[u8]) -> Option<Name> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let registry = oid_registry();
    let mut name = Vec::new();
    for rdn in cert.subject().iter() {
        for attribute in rdn.iter() {
            let kind = oid2abbrev(attribute.attr_type(), registry)
                .map_or_else(|_| attribute.attr_type().to_id_string(), str::to_owned);
            name.push((
                kind.to_ascii_uppercase(),
                attribute.as_str().ok()?.to_owned(),
            ));
        }
    }
    Some(name)
}

/// A configured subject (`CN=ticketing,O=District`) as attributes.
pub(crate) fn configured(subject: &str) -> Name {
    subject
        .split(',')
        .map(|part| {
            let (kind, value) = part.split_once('=').unwrap_or((part, ""));
            (kind.trim().to_ascii_uppercase(), value.trim().to_owned())
        })
        .collect()
}

/// Whether two subjects are the same: attribute by attribute, in order, values blind to
/// case (as directory names compare).
pub(crate) fn same(a: &Name, b: &Name) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && va.to_lowercase() == vb.to_lowercase())
}

/// The CA certificates that issue the district tools' certificates
/// (`helpdesk.client_ca_file`), when others are trusted beside them (`grpc.client_ca_file`):
/// a tool's certificate must then be signed by one of these, so a certificate from the other
/// CA with the same subject is not the tool.
#[derive(Clone, Debug, Default)]
pub struct HelpdeskIssuers(Vec<Vec<u8>>);

impl HelpdeskIssuers {
    /// The certificates of a PEM file; an error names what is wrong.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let mut found = Vec::new();
        for block in Pem::iter_from_buffer(pem) {
            let block = block.map_err(|e| format!("not PEM: {e}"))?;
            if block.label == "CERTIFICATE" {
                x509_parser::parse_x509_certificate(&block.contents)
                    .map_err(|e| format!("a certificate does not parse: {e}"))?;
                found.push(block.contents);
            }
        }
        if found.is_empty() {
            return Err("holds no certificate".into());
        }
        Ok(Self(found))
    }

    /// True when one of these CAs signed the certificate `der`.
    pub(crate) fn issued(&self, der: &[u8]) -> bool {
        let Ok((_, leaf)) = x509_parser::parse_x509_certificate(der) else {
            return false;
        };
        self.0.iter().any(|ca| {
            x509_parser::parse_x509_certificate(ca).is_ok_and(|(_, ca): (_, X509Certificate)| {
                leaf.issuer() == ca.subject()
                    && leaf.verify_signature(Some(ca.public_key())).is_ok()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_attribute_by_attribute() {
        let presented = vec![
            ("CN".to_owned(), "ticketing".to_owned()),
            ("O".to_owned(), "District".to_owned()),
        ];
        assert!(same(&configured("CN=ticketing,O=District"), &presented));
        assert!(same(&configured("cn=Ticketing, o=district"), &presented));
        assert!(!same(&configured("CN=ticketing"), &presented));
        assert!(!same(&configured("O=District,CN=ticketing"), &presented));
        // One attribute whose value holds a comma is not two attributes.
        let sneaky = vec![("CN".to_owned(), "ticketing, O=District".to_owned())];
        assert!(!same(&configured("CN=ticketing,O=District"), &sneaky));
    }
}
