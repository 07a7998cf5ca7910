//! The streaming PDF/A-2b serializer: objects go to the output as soon as they are complete,
//! so memory holds one page at a time plus a few bytes per object for the xref table.
//!
//! Layout of a file (object numbers are reserved up front so pages can point at objects that
//! are only written at the end):
//! header; catalog, XMP, ICC profile, Info; per page: image XObject, content stream, page;
//! at `finish`: the font (its glyph count and ToUnicode map are only known then), the page
//! tree, the signature field and dictionary, a classic xref table and the trailer. A classic
//! table and no object streams keep the signature dictionary a plain top-level object whose
//! byte offsets the signer can patch in place (ISO 32000-1 12.8.1).

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::font::{self, GlyphMap};
use super::sign::SignaturePlaceholder;
use super::syntax::{CountingWriter, name, num, pdf_date, text_string};
use super::text::{PageFrame, text_layer};
use super::{DocumentMeta, PdfError, PdfPage, icc, xmp};
use crate::image::Embed;

/// What the writer reserves for a PAdES signature (filled by [`super::sign`]).
#[derive(Debug, Clone)]
pub struct SignatureSpec {
    /// Hex digits reserved for the CMS blob in `/Contents` (twice its maximum DER size),
    /// e.g. 32768. Must be even.
    pub contents_hex_len: usize,
    /// The signing time written as `/M` (PAdES keeps it here, not in the CMS).
    pub signing_time: time::OffsetDateTime,
    /// The signature field's name (`/T`).
    pub field_name: String,
}

/// A finished file: the sink handed back, its length and, when asked for, where the
/// signature goes.
#[derive(Debug)]
pub struct WrittenPdf<W> {
    pub out: W,
    pub len: u64,
    pub signature: Option<SignaturePlaceholder>,
}

/// Placeholder for `/ByteRange`: valid PDF syntax (integers with leading zeros) of fixed
/// width, so the file parses before signing; the signer overwrites it with the real
/// numbers padded with spaces to the same width.
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";
/// Upper bound for `/Contents` reservations: 1 MiB of CMS is far beyond any certificate chain.
const MAX_CONTENTS_HEX_LEN: usize = 2 * 1024 * 1024;
/// Resource names used on every page.
const IMAGE_RES: &str = "/Im0";
const FONT_RES: &str = "/F0";

struct Ids {
    catalog: u32,
    pages: u32,
    info: u32,
    metadata: u32,
    icc: u32,
    font: u32,
    cid_font: u32,
    descriptor: u32,
    font_file: u32,
    to_unicode: u32,
    first_page: u32,
    signature: Option<(u32, u32)>, // (field/widget, signature dictionary)
}

/// Writes one PDF/A-2b document page by page to `W`.
pub struct PdfWriter<W: Write> {
    out: CountingWriter<W>,
    /// Byte offset of every object, index = object number (0 is the xref's free head).
    offsets: Vec<Option<u64>>,
    ids: Ids,
    page_ids: Vec<u32>,
    glyphs: GlyphMap,
    signature: Option<SignatureSpec>,
    document_id: [u8; 16],
    /// ICC streams already written for images, by the profile's SHA-256: the pages of one
    /// scan usually share one profile, which then goes into the file once.
    image_profiles: std::collections::HashMap<[u8; 32], u32>,
}

impl<W: Write> PdfWriter<W> {
    /// Starts a document: writes the header and the document-level objects.
    pub fn new(
        out: W,
        meta: &DocumentMeta,
        signature: Option<SignatureSpec>,
    ) -> Result<Self, PdfError> {
        if let Some(spec) = &signature {
            if spec.contents_hex_len == 0
                || spec.contents_hex_len % 2 != 0
                || spec.contents_hex_len > MAX_CONTENTS_HEX_LEN
            {
                return Err(PdfError::BadSignatureSpec(format!(
                    "contents_hex_len {} must be even and within 2..={MAX_CONTENTS_HEX_LEN}",
                    spec.contents_hex_len
                )));
            }
            if spec.field_name.trim().is_empty() {
                return Err(PdfError::BadSignatureSpec(
                    "the signature field needs a name".into(),
                ));
            }
        }
        let mut offsets = vec![None];
        let mut alloc = || {
            offsets.push(None);
            (offsets.len() - 1) as u32
        };
        let ids = Ids {
            catalog: alloc(),
            pages: alloc(),
            info: alloc(),
            metadata: alloc(),
            icc: alloc(),
            font: alloc(),
            cid_font: alloc(),
            descriptor: alloc(),
            font_file: alloc(),
            to_unicode: alloc(),
            first_page: alloc(),
            signature: signature.as_ref().map(|_| (alloc(), alloc())),
        };
        let mut w = Self {
            out: CountingWriter::new(out),
            offsets,
            ids,
            page_ids: Vec::new(),
            glyphs: GlyphMap::default(),
            signature,
            document_id: meta.document_id,
            image_profiles: std::collections::HashMap::new(),
        };
        // ISO 19005-2 6.1.2: header, then a comment of at least four bytes above 127 so
        // transfer tools treat the file as binary.
        w.out.write_all(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        w.write_catalog(meta)?;
        let packet = xmp::xmp_packet(meta);
        // 6.6.2.1: the metadata stream is not filtered, so any XMP reader finds it.
        w.write_stream(
            w.ids.metadata,
            "/Type /Metadata /Subtype /XML",
            packet.as_bytes(),
        )?;
        w.write_stream(w.ids.icc, "/N 3", &icc::srgb_profile())?;
        w.write_object(w.ids.info, &xmp::info_dict(meta))?;
        Ok(w)
    }

    /// Writes one page: its image exactly as embedded, the image drawn full-page, and the
    /// invisible text layer.
    pub fn add_page(&mut self, page: &PdfPage<'_>) -> Result<(), PdfError> {
        let number = self.page_ids.len() + 1;
        let bad = |reason: String| PdfError::BadPage {
            page: number,
            reason,
        };
        let (w_px, h_px) = (page.info.width, page.info.height);
        if w_px == 0 || h_px == 0 {
            return Err(bad(format!("empty image {w_px}x{h_px}")));
        }
        let (dx, dy) = page.dpi;
        if !(dx.is_finite() && dy.is_finite() && dx > 0.0 && dy > 0.0) {
            return Err(bad(format!("resolution {dx}x{dy} dpi is not usable")));
        }
        let rotation = page.text.rotation;
        if !matches!(rotation, 0 | 90 | 180 | 270) {
            return Err(bad(format!("rotation {rotation} is not a quarter turn")));
        }
        // Points = pixels * 72 / dpi (ISO 32000-1 8.3.2.3: default user unit is 1/72 inch).
        let width_pt = f64::from(w_px) * 72.0 / dx;
        let height_pt = f64::from(h_px) * 72.0 / dy;
        let colour_space = self.image_colour_space(page.embed)?;
        let image_dict = image_dict(page.embed, w_px, h_px, colour_space).map_err(bad)?;

        let page_id = if number == 1 {
            self.ids.first_page
        } else {
            self.alloc()
        };
        let image_id = self.alloc();
        let content_id = self.alloc();

        let data: &[u8] = match page.embed {
            Embed::Dct { data, .. } | Embed::CcittG4 { data, .. } | Embed::Flate { data, .. } => {
                data
            }
        };
        // The scanner's bytes go in untouched (TR-03138 A.SC.12, SPEC §5 "lossless").
        self.write_stream(image_id, &image_dict, data)?;

        let frame = PageFrame {
            width_pt,
            height_pt,
            dpi: (dx, dy),
            rotation,
        };
        let mut content = format!(
            "q {} 0 0 {} 0 0 cm {IMAGE_RES} Do Q\n",
            num(width_pt),
            num(height_pt)
        )
        .into_bytes();
        content.extend(text_layer(
            &page.text.words,
            &frame,
            FONT_RES,
            &mut self.glyphs,
        )?);
        self.write_stream(content_id, "/Filter /FlateDecode", &deflate(&content)?)?;

        let annots = match (number, self.ids.signature) {
            (1, Some((field, _))) => format!(" /Annots [{field} 0 R]"),
            _ => String::new(),
        };
        let dict = format!(
            "<< /Type /Page /Parent {} 0 R /MediaBox [0 0 {} {}] /Rotate {rotation} \
             /Resources << /XObject << {IMAGE_RES} {image_id} 0 R >> /Font << {FONT_RES} {} 0 R >> >> \
             /Contents {content_id} 0 R{annots} >>",
            self.ids.pages,
            num(width_pt),
            num(height_pt),
            self.ids.font,
        );
        self.write_object(page_id, &dict)?;
        self.page_ids.push(page_id);
        Ok(())
    }

    /// The ICC-based colour space object for an image, when it has one: the image's own
    /// profile when it is usable for its channel count, else for four channels (CMYK) the
    /// default CMYK profile, since DeviceCMYK is not allowed beside an RGB output intent
    /// (ISO 19005-2 6.2.4.3) and an ICCBased space, being device-independent, is. Gray and RGB
    /// images without a usable profile stay DeviceGray/DeviceRGB, which the sRGB output
    /// intent defines (6.2.4.3).
    fn image_colour_space(&mut self, embed: &Embed) -> Result<Option<u32>, PdfError> {
        let (channels, own) = match embed {
            Embed::Dct {
                components, icc, ..
            } => (*components, icc.as_deref()),
            Embed::Flate {
                colors,
                palette,
                icc,
                ..
            } => (if palette.is_some() { 3 } else { *colors }, icc.as_deref()),
            Embed::CcittG4 { .. } => return Ok(None),
        };
        let profile = match own.filter(|p| icc::usable_profile(p, channels)) {
            Some(p) => p,
            None if channels == 4 => icc::default_cmyk_profile(),
            None => return Ok(None),
        };
        let key: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(profile).into()
        };
        if let Some(&id) = self.image_profiles.get(&key) {
            return Ok(Some(id));
        }
        let id = self.alloc();
        self.write_stream(
            id,
            &format!("/N {channels} /Filter /FlateDecode"),
            &deflate(profile)?,
        )?;
        self.image_profiles.insert(key, id);
        Ok(Some(id))
    }

    /// Writes the font, page tree, signature objects, xref and trailer; hands back the sink.
    pub fn finish(mut self) -> Result<WrittenPdf<W>, PdfError> {
        if self.page_ids.is_empty() {
            return Err(PdfError::NoPages);
        }
        self.write_font()?;
        let kids: Vec<String> = self.page_ids.iter().map(|id| format!("{id} 0 R")).collect();
        self.write_object(
            self.ids.pages,
            &format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                self.page_ids.len()
            ),
        )?;
        let placeholder = match (self.ids.signature, self.signature.take()) {
            (Some((field, value)), Some(spec)) => Some(self.write_signature(field, value, &spec)?),
            _ => None,
        };

        let xref_at = self.out.position();
        let size = self.offsets.len();
        write!(self.out, "xref\n0 {size}\n0000000000 65535 f\r\n")?;
        for (id, off) in self.offsets.iter().enumerate().skip(1) {
            let off = off.ok_or_else(|| {
                PdfError::Io(std::io::Error::other(format!(
                    "internal: object {id} was reserved but never written"
                )))
            })?;
            write!(self.out, "{off:010} 00000 n\r\n")?;
        }
        let id = hex::encode_upper(self.document_id);
        write!(
            self.out,
            "trailer\n<< /Size {size} /Root {} 0 R /Info {} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.ids.catalog, self.ids.info
        )?;
        self.out.flush()?;
        let len = self.out.position();
        Ok(WrittenPdf {
            out: self.out.into_inner(),
            len,
            signature: placeholder,
        })
    }

    fn alloc(&mut self) -> u32 {
        self.offsets.push(None);
        (self.offsets.len() - 1) as u32
    }

    fn begin(&mut self, id: u32) -> Result<(), PdfError> {
        self.offsets[id as usize] = Some(self.out.position());
        writeln!(self.out, "{id} 0 obj")?;
        Ok(())
    }

    fn write_object(&mut self, id: u32, body: &str) -> Result<(), PdfError> {
        self.begin(id)?;
        self.out.write_all(body.as_bytes())?;
        self.out.write_all(b"\nendobj\n")?;
        Ok(())
    }

    /// A stream object; `/Length` is added here and is exact (ISO 19005-2 6.1.7.1).
    fn write_stream(&mut self, id: u32, dict: &str, data: &[u8]) -> Result<(), PdfError> {
        self.begin(id)?;
        write!(self.out, "<< {dict} /Length {} >>\nstream\n", data.len())?;
        self.out.write_all(data)?;
        self.out.write_all(b"\nendstream\nendobj\n")?;
        Ok(())
    }

    fn write_catalog(&mut self, meta: &DocumentMeta) -> Result<(), PdfError> {
        let acroform = match self.ids.signature {
            // SigFlags 3: SignaturesExist | AppendOnly (ISO 32000-1 12.7.2).
            Some((field, _)) => format!(" /AcroForm << /Fields [{field} 0 R] /SigFlags 3 >>"),
            None => String::new(),
        };
        let body = format!(
            "<< /Type /Catalog /Pages {} 0 R /Metadata {} 0 R /Lang {} \
             /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 \
             /OutputConditionIdentifier (sRGB IEC61966-2.1) /RegistryName (http://www.color.org) \
             /Info {} /DestOutputProfile {} 0 R >>]{acroform} >>",
            self.ids.pages,
            self.ids.metadata,
            text_string(&meta.lang),
            text_string(icc::DESCRIPTION),
            self.ids.icc,
        );
        self.write_object(self.ids.catalog, &body)
    }

    fn write_font(&mut self) -> Result<(), PdfError> {
        let base = name(font::FONT_NAME);
        let ids = (
            self.ids.font,
            self.ids.cid_font,
            self.ids.descriptor,
            self.ids.font_file,
            self.ids.to_unicode,
        );
        self.write_object(
            ids.0,
            &format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont {base} /Encoding /Identity-H \
                 /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                ids.1, ids.4
            ),
        )?;
        // /DW equals every glyph's advance in the font program (ISO 19005-2 6.2.11.5).
        self.write_object(
            ids.1,
            &format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont {base} \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor {} 0 R /DW {} /CIDToGIDMap /Identity >>",
                ids.2,
                font::GLYPH_WIDTH
            ),
        )?;
        // Flags 4: symbolic (the glyphs are outside the standard Latin set).
        self.write_object(
            ids.2,
            &format!(
                "<< /Type /FontDescriptor /FontName {base} /Flags 4 /FontBBox [0 0 {} 1000] \
                 /ItalicAngle 0 /Ascent 1000 /Descent 0 /CapHeight 1000 /StemV 80 \
                 /FontFile2 {} 0 R >>",
                font::GLYPH_WIDTH,
                ids.3
            ),
        )?;
        let program = font::glyphless_truetype(self.glyphs.glyph_count());
        self.write_stream(
            ids.3,
            &format!("/Filter /FlateDecode /Length1 {}", program.len()),
            &deflate(&program)?,
        )?;
        let cmap = self.glyphs.to_unicode_cmap();
        self.write_stream(ids.4, "/Filter /FlateDecode", &deflate(cmap.as_bytes())?)?;
        Ok(())
    }

    /// The signature value dictionary (a plain top-level object, PAdES / ISO 32000-1 12.8.1)
    /// and the field that is also its widget on page 1 (ISO 32000-1 12.7.4.5). Returns the
    /// exact offsets the signer patches.
    fn write_signature(
        &mut self,
        field: u32,
        value: u32,
        spec: &SignatureSpec,
    ) -> Result<SignaturePlaceholder, PdfError> {
        self.begin(value)?;
        write!(
            self.out,
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M {} /ByteRange ",
            text_string(&pdf_date(spec.signing_time))
        )?;
        let byte_range_offset = self.out.position();
        self.out.write_all(BYTE_RANGE_PLACEHOLDER.as_bytes())?;
        self.out.write_all(b" /Contents ")?;
        let contents_offset = self.out.position();
        self.out.write_all(b"<")?;
        let zeros = [b'0'; 4096];
        let mut left = spec.contents_hex_len;
        while left > 0 {
            let n = left.min(zeros.len());
            self.out.write_all(&zeros[..n])?;
            left -= n;
        }
        self.out.write_all(b"> >>\nendobj\n")?;
        // F 132 = Print | Locked; a zero Rect makes it an invisible signature, which needs
        // no appearance stream (ISO 19005-2 6.3.3).
        self.write_object(
            field,
            &format!(
                "<< /FT /Sig /T {} /V {value} 0 R /Type /Annot /Subtype /Widget /F 132 \
                 /Rect [0 0 0 0] /P {} 0 R >>",
                text_string(&spec.field_name),
                self.ids.first_page
            ),
        )?;
        Ok(SignaturePlaceholder {
            byte_range_offset,
            byte_range_width: BYTE_RANGE_PLACEHOLDER.len(),
            contents_offset,
            contents_hex_len: spec.contents_hex_len,
        })
    }
}

/// The image XObject dictionary (without `/Length`) describing `embed` exactly as stored.
/// `icc` is the object number of the ICC profile stream that is the image's colour space
/// (the palette's base for an indexed image), or `None` for the device space.
fn image_dict(embed: &Embed, width: u32, height: u32, icc: Option<u32>) -> Result<String, String> {
    let head = format!("/Type /XObject /Subtype /Image /Width {width} /Height {height}");
    let device = |n: u8| -> Result<String, String> {
        Ok(match (icc, n) {
            (Some(id), 1 | 3 | 4) => format!("[/ICCBased {id} 0 R]"),
            (None, 1) => "/DeviceGray".into(),
            (None, 3) => "/DeviceRGB".into(),
            (None, 4) => "/DeviceCMYK".into(),
            (_, n) => return Err(format!("image with {n} colour channels")),
        })
    };
    Ok(match embed {
        Embed::Dct {
            data, components, ..
        } => {
            let cs = device(*components).map_err(|e| format!("JPEG: {e}"))?;
            // Adobe's CMYK JPEGs (APP14 "Adobe" marker) store inverted values; readers
            // only undo that when told by /Decode. Without the marker the data is plain.
            let decode = if *components == 4 && adobe_app14(data) {
                " /Decode [1 0 1 0 1 0 1 0]"
            } else if *components == 3 && crate::image::rgb_by_component_ids(data) {
                // RGB samples marked only by their component ids (JPEG-in-TIFF from
                // libtiff): DCTDecode would take them for YCbCr.
                " /DecodeParms << /ColorTransform 0 >>"
            } else {
                ""
            };
            format!("{head} /ColorSpace {cs}{decode} /BitsPerComponent 8 /Filter /DCTDecode")
        }
        Embed::CcittG4 { black_is_1, .. } => format!(
            "{head} /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode \
             /DecodeParms << /K -1 /Columns {width} /Rows {height} /BlackIs1 {black_is_1} >>"
        ),
        Embed::Flate {
            colors,
            bits_per_component: bpc,
            png_predictor,
            palette,
            ..
        } => {
            let cs = match palette {
                Some(p) => {
                    let entries = p.len() / 3;
                    if p.len() % 3 != 0 || entries == 0 || entries > 256 {
                        return Err(format!("palette of {} bytes", p.len()));
                    }
                    if *colors != 1 || !matches!(bpc, 1 | 2 | 4 | 8) {
                        return Err(format!("indexed image with {colors} colours at {bpc} bit"));
                    }
                    format!(
                        "[/Indexed {} {} <{}>]",
                        device(3)?,
                        entries - 1,
                        hex::encode_upper(p)
                    )
                }
                None => device(*colors).map_err(|e| format!("Flate {e}"))?,
            };
            if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
                return Err(format!("{bpc} bits per component"));
            }
            let parms = if *png_predictor {
                format!(
                    " /DecodeParms << /Predictor 15 /Colors {colors} /BitsPerComponent {bpc} /Columns {width} >>"
                )
            } else {
                String::new()
            };
            format!("{head} /ColorSpace {cs} /BitsPerComponent {bpc} /Filter /FlateDecode{parms}")
        }
    })
}

/// Whether a JPEG carries Adobe's APP14 marker (JPEG markers before the first scan).
fn adobe_app14(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        match marker {
            0xDA | 0xD9 => return false, // start of scan / end of image
            0x01 | 0xD0..=0xD7 | 0xFF => {
                i += if marker == 0xFF { 1 } else { 2 };
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if marker == 0xEE && jpeg.get(i + 4..i + 9) == Some(b"Adobe") {
            return true;
        }
        i += 2 + len;
    }
    false
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(data.len() / 3 + 64), Compression::fast());
    z.write_all(data)?;
    z.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adobe_marker_is_found_before_the_scan_only() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0];
        assert!(!adobe_app14(&jpeg));
        jpeg.extend_from_slice(&[0xFF, 0xEE, 0x00, 0x0E]);
        jpeg.extend_from_slice(b"Adobe\0\x64\0\0\0\0\x02");
        assert!(adobe_app14(&jpeg));
        let mut late = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        late.extend_from_slice(&[0xFF, 0xEE, 0x00, 0x0E]);
        late.extend_from_slice(b"Adobe");
        assert!(!adobe_app14(&late));
        // Truncated garbage never panics.
        assert!(!adobe_app14(&[0xFF, 0xD8, 0xFF]));
        assert!(!adobe_app14(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]));
    }

    #[test]
    fn image_dicts_follow_the_embed() {
        let data: std::sync::Arc<[u8]> = std::sync::Arc::from(&b"xx"[..]);
        let g4 = Embed::CcittG4 {
            data: data.clone(),
            black_is_1: false,
        };
        let d = image_dict(&g4, 2480, 3508, None).unwrap();
        assert!(d.contains(
            "/CCITTFaxDecode /DecodeParms << /K -1 /Columns 2480 /Rows 3508 /BlackIs1 false >>"
        ));
        assert!(d.contains("/BitsPerComponent 1"));
        let pal = Embed::Flate {
            data: data.clone(),
            colors: 1,
            bits_per_component: 4,
            png_predictor: true,
            palette: Some(std::sync::Arc::from(&[255u8, 0, 0, 0, 0, 255][..])),
            icc: None,
        };
        let d = image_dict(&pal, 10, 10, None).unwrap();
        assert!(
            d.contains("/ColorSpace [/Indexed /DeviceRGB 1 <FF00000000FF>]"),
            "{d}"
        );
        assert!(d.contains("/Predictor 15 /Colors 1 /BitsPerComponent 4 /Columns 10"));
        let bad = Embed::Flate {
            data: data.clone(),
            colors: 2,
            bits_per_component: 8,
            png_predictor: false,
            palette: None,
            icc: None,
        };
        assert!(image_dict(&bad, 1, 1, None).is_err());
        let jpeg = Embed::Dct {
            data,
            components: 3,
            icc: None,
        };
        assert!(
            image_dict(&jpeg, 1, 1, None)
                .unwrap()
                .contains("/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode")
        );
    }
}
