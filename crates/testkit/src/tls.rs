//! A throwaway certificate authority for tests: server certificates for 127.0.0.1 and client
//! certificates, as PEM.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};

/// A CA that signs test certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa")
    }
}

/// A certificate and its private key, PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

impl TestCa {
    /// A fresh CA.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for 127.0.0.1.
    pub fn server_127(&self) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().expect("IP"))];
        params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        self.issue(params)
    }

    /// A server certificate for the host name `host` only (not for 127.0.0.1): what a server
    /// that is not the one dialled shows.
    pub fn server_named(&self, host: &str) -> Issued {
        let mut params = CertificateParams::new(vec![host.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, host);
        self.issue(params)
    }

    /// A client certificate named `name`.
    pub fn client(&self, name: &str) -> Issued {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
