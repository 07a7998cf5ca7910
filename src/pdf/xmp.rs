//! Document metadata twice, as PDF/A wants it: the Info dictionary and an XMP packet that
//! mirrors it field for field (ISO 19005-2 6.6.2 XMP in an uncompressed metadata stream with
//! `<?xpacket` header and trailer; 6.6.3 Info and XMP equivalent; 6.6.4 `pdfaid:part` 2,
//! `pdfaid:conformance` B).

use super::DocumentMeta;
use super::syntax::{clean_text, pdf_date, text_string, xmp_date};

/// The Info dictionary's body (without object header), built from the same cleaned strings
/// as [`xmp_packet`].
pub(crate) fn info_dict(meta: &DocumentMeta) -> String {
    let mut d = format!(
        "<< /Title {} /Author {} /Creator {} /Producer {} /CreationDate {}",
        text_string(&meta.title),
        text_string(&meta.author),
        text_string(&meta.creator_tool),
        text_string(&meta.producer),
        text_string(&pdf_date(meta.created)),
    );
    if let Some(subject) = &meta.subject {
        d.push_str(&format!(" /Subject {}", text_string(subject)));
    }
    d.push_str(" >>");
    d
}

/// `uuid:` form of the document id for xmpMM:DocumentID.
pub(crate) fn document_uuid(id: &[u8; 16]) -> String {
    let h = hex::encode(id);
    format!(
        "uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// XML character data with the five special characters escaped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean_text(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The complete XMP packet, UTF-8, with padding so a later in-place edit has room.
pub(crate) fn xmp_packet(meta: &DocumentMeta) -> String {
    let mut x = String::new();
    x.push_str("<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
    x.push_str("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n");
    x.push_str("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    x.push_str(
        "<rdf:Description rdf:about=\"\"\n \
         xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n \
         xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n \
         xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n \
         xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n",
    );
    x.push_str("<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n");
    x.push_str("<dc:format>application/pdf</dc:format>\n");
    x.push_str(&format!(
        "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n",
        xml(&meta.title)
    ));
    x.push_str(&format!(
        "<dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\n",
        xml(&meta.author)
    ));
    if let Some(subject) = &meta.subject {
        x.push_str(&format!(
            "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:description>\n",
            xml(subject)
        ));
    }
    x.push_str(&format!(
        "<xmp:CreateDate>{}</xmp:CreateDate>\n<xmp:CreatorTool>{}</xmp:CreatorTool>\n",
        xmp_date(meta.created),
        xml(&meta.creator_tool)
    ));
    x.push_str(&format!(
        "<pdf:Producer>{}</pdf:Producer>\n<xmpMM:DocumentID>{}</xmpMM:DocumentID>\n",
        xml(&meta.producer),
        document_uuid(&meta.document_id)
    ));
    x.push_str("</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n");
    // XMP spec part 1, 7.3.2: whitespace padding before the trailer for in-place updates.
    for _ in 0..20 {
        x.push_str(&" ".repeat(99));
        x.push('\n');
    }
    x.push_str("<?xpacket end=\"w\"?>");
    x
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) fn meta() -> DocumentMeta {
        DocumentMeta {
            title: "Bescheid <Müller & Söhne> \"ß\"".into(),
            author: "Stadt Leipzig, Stadtkasse".into(),
            subject: Some("Vollstreckung".into()),
            lang: "de".into(),
            creator_tool: "resiscan 0.1.0".into(),
            producer: "resiscan 0.1.0 (PDF/A-2b writer)".into(),
            created: datetime!(2026-11-24 16:02:11 +01:00),
            document_id: *b"0123456789abcdef",
        }
    }

    #[test]
    fn xmp_escapes_and_carries_pdfa_identification() {
        let x = xmp_packet(&meta());
        assert!(x.contains("Bescheid &lt;Müller &amp; Söhne&gt; &quot;ß&quot;"));
        assert!(x.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(x.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(x.contains("<xmp:CreateDate>2026-11-24T16:02:11+01:00</xmp:CreateDate>"));
        assert!(x.contains("uuid:30313233-3435-3637-3839-616263646566"));
        assert!(x.starts_with("<?xpacket begin=\"\u{FEFF}\""));
        assert!(x.ends_with("<?xpacket end=\"w\"?>"));
    }

    #[test]
    fn info_mirrors_the_same_values() {
        let i = info_dict(&meta());
        assert!(i.contains("/CreationDate (D:20261124160211+01'00')"));
        assert!(i.contains("/Producer (resiscan 0.1.0 \\(PDF/A-2b writer\\))"));
        // Non-ASCII title goes UTF-16BE.
        assert!(i.contains("/Title <FEFF"));
    }
}
