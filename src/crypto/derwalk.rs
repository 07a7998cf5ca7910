//! A minimal DER TLV reader for the few places where the *exact original bytes* matter and a
//! decode–re-encode round trip could change them: the signed attributes of a SignerInfo (their
//! signature is over the bytes as sent, RFC 5652 5.4) and embedded certificates (the ESS
//! certificate hash is over the bytes as sent, RFC 5035 5.4.1.1). Only what DER allows is
//! accepted: definite lengths, minimal long-form lengths, single-byte tags. [`tlv`] writes the
//! same form, for wrapping PKCS#1 and SEC1 keys into PKCS#8.

/// One TLV: its tag byte, the whole encoding and the content octets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub full: &'a [u8],
    pub content: &'a [u8],
}

/// Reads one TLV from the front of `input`; returns it and the rest.
pub(crate) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("unexpected end of data")?;
    if tag & 0x1f == 0x1f {
        return Err(format!("multi-byte tag 0x{tag:02x} not supported"));
    }
    let (&first, rest) = rest.split_first().ok_or("missing length")?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else if first == 0x80 {
        return Err("indefinite length (BER) is not DER".into());
    } else {
        let n = (first & 0x7f) as usize;
        if n > 4 || rest.len() < n {
            return Err("bad length".into());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        if len < 0x80 || rest[0] == 0 {
            return Err("non-minimal length encoding".into());
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(format!("length {len} runs past the end of the data"));
    }
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at(len);
    Ok((
        Tlv {
            tag,
            full: &input[..header + len],
            content,
        },
        after,
    ))
}

/// Reads one TLV and checks its tag.
pub(crate) fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &str,
) -> Result<(Tlv<'a>, &'a [u8]), String> {
    let (tlv, rest) = read_tlv(input).map_err(|e| format!("{what}: {e}"))?;
    if tlv.tag != tag {
        return Err(format!(
            "{what}: expected tag 0x{tag:02x}, found 0x{:02x}",
            tlv.tag
        ));
    }
    Ok((tlv, rest))
}

/// All TLVs in `content`, in order.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Encodes one TLV with a minimal DER length (for wrapping a key into PKCS#8).
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (t, rest) = read_tlv(&[0x30, 0x02, 0x05, 0x00, 0xff]).unwrap();
        assert_eq!(
            (t.tag, t.content, rest),
            (0x30, &[5u8, 0][..], &[0xffu8][..])
        );
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let (t, rest) = read_tlv(&long).unwrap();
        assert_eq!((t.content.len(), t.full.len(), rest.len()), (0x80, 0x83, 0));
    }

    #[test]
    fn rejects_what_der_forbids() {
        assert!(
            read_tlv(&[0x30, 0x80, 0, 0])
                .unwrap_err()
                .contains("indefinite")
        );
        assert!(
            read_tlv(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5])
                .unwrap_err()
                .contains("non-minimal")
        );
        assert!(
            read_tlv(&[0x04, 0x05, 1])
                .unwrap_err()
                .contains("past the end")
        );
        assert!(read_tlv(&[]).is_err());
        assert!(
            expect(&[0x31, 0x00], 0x30, "set")
                .unwrap_err()
                .contains("expected tag 0x30")
        );
        assert_eq!(children(&[0x05, 0x00, 0x02, 0x01, 0x07]).unwrap().len(), 2);
    }

    #[test]
    fn encoded_tlvs_read_back() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 70_000] {
            let content = vec![9u8; len];
            let enc = tlv(0x04, &content);
            let (t, rest) = read_tlv(&enc).unwrap();
            assert_eq!(
                (t.tag, t.content, rest.len()),
                (0x04, &content[..], 0),
                "{len}"
            );
        }
    }
}
