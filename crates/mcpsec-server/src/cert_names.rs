//! The names in an X.509 certificate that identities are matched on: the subject's common
//! names and the subject alternative names (DNS, e-mail, URI, IP). A small DER reader that
//! never panics: a certificate it cannot read yields no names (and so no identity).

/// One DER element: tag, content, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

/// The elements of a constructed value's content.
fn children(mut content: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, value, rest) = tlv(content)?;
        content = rest;
        Some((tag, value))
    })
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const SAN: &[u8] = &[0x55, 0x1d, 0x11];

fn text(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, TeletexString (as Latin-1 in practice)
        0x0c | 0x13 | 0x16 => std::str::from_utf8(value).ok().map(str::to_owned),
        0x14 => Some(value.iter().map(|&b| char::from(b)).collect()),
        // BMPString
        0x1e if value.len().is_multiple_of(2) => {
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn common_names(subject: &[u8], out: &mut Vec<String>) {
    for (_, set) in children(subject).filter(|(t, _)| *t == 0x31) {
        for (_, attr) in children(set).filter(|(t, _)| *t == 0x30) {
            let mut parts = children(attr);
            if let (Some((0x06, oid)), Some((tag, value))) = (parts.next(), parts.next())
                && oid == CN
                && let Some(s) = text(tag, value)
            {
                out.push(s);
            }
        }
    }
}

fn alt_names(extensions: &[u8], out: &mut Vec<String>) {
    let Some((0x30, list, _)) = tlv(extensions) else {
        return;
    };
    for (_, ext) in children(list).filter(|(t, _)| *t == 0x30) {
        let mut parts = children(ext);
        if parts.next() != Some((0x06, SAN)) {
            continue;
        }
        let Some((_, octets)) = parts.find(|(t, _)| *t == 0x04) else {
            continue;
        };
        let Some((0x30, names, _)) = tlv(octets) else {
            continue;
        };
        for (tag, value) in children(names) {
            match tag {
                0x81 | 0x82 | 0x86 => {
                    if let Ok(s) = std::str::from_utf8(value) {
                        out.push(s.to_owned());
                    }
                }
                0x87 => {
                    if let Ok(b) = <[u8; 4]>::try_from(value) {
                        out.push(std::net::Ipv4Addr::from(b).to_string());
                    } else if let Ok(b) = <[u8; 16]>::try_from(value) {
                        out.push(std::net::Ipv6Addr::from(b).to_string());
                    }
                }
                _ => {}
            }
        }
    }
}

/// The subject common names, then the subject alternative names, of a DER certificate.
pub fn cert_names(der: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some((0x30, cert, _)) = tlv(der) else {
        return out;
    };
    let Some((0x30, tbs, _)) = tlv(cert) else {
        return out;
    };
    let mut fields = children(tbs).peekable();
    if fields.peek().is_some_and(|(t, _)| *t == 0xa0) {
        fields.next(); // version
    }
    // serial, signature algorithm, issuer, validity, subject
    let Some((_, subject)) = fields.nth(4) else {
        return out;
    };
    common_names(subject, &mut out);
    for (tag, value) in fields {
        if tag == 0xa3 {
            alt_names(value, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_owned());
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Acme");
        p.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().expect("key");
        p.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn common_name_and_alt_names_are_read() {
        let der = cert(
            "agent-1",
            vec![
                rcgen::SanType::DnsName("agent.example.com".try_into().expect("dns")),
                rcgen::SanType::Rfc822Name("ops@example.com".try_into().expect("mail")),
                rcgen::SanType::URI("spiffe://acme/agent".try_into().expect("uri")),
                rcgen::SanType::IpAddress("10.0.0.7".parse().expect("ip")),
            ],
        );
        assert_eq!(
            cert_names(&der),
            [
                "agent-1",
                "agent.example.com",
                "ops@example.com",
                "spiffe://acme/agent",
                "10.0.0.7"
            ]
        );
        assert_eq!(cert_names(&cert("ünï", vec![])), ["ünï"]);
    }

    #[test]
    fn truncated_and_hostile_input_yields_no_names_and_no_panic() {
        let der = cert("agent-1", vec![]);
        for n in 0..der.len() {
            let _ = cert_names(&der[..n]);
        }
        let mut flipped = der.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xff;
            let _ = cert_names(&flipped);
            flipped[i] ^= 0xff;
        }
        assert!(cert_names(&[]).is_empty());
        assert!(cert_names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_empty());
        assert!(cert_names(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_empty());
        assert!(cert_names(&vec![0x30; 100_000]).is_empty());
    }
}
