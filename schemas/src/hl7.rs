//! A careful reader of HL7 v2 result messages (ORU^R01) and the writer of their ACK: the
//! segments split on carriage returns, the separators read from MSH-1 and MSH-2, the escapes
//! `\F\ \S\ \T\ \R\ \E\ \.br\ \Xhh\` undone at the leaf, repetitions, components and
//! sub-components; the character set of MSH-18 checked before a byte is read as text (UTF-8
//! or ASCII only: anything else, or bytes that are not what MSH-18 says, is refused with a
//! sentence, never guessed). MLLP framing (0x0B … 0x1C 0x0D) is stripped if present.
//!
//! Why our own: the crates on crates.io for HL7 v2 are young or unmaintained, and what we read
//! is small (MSH, PID, ORC, OBR, OBX of one message type). Pure; no I/O.

use crate::labs::{ImportResults, ReportedValue};

/// Why a message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Error {
    #[error("not an HL7 v2 message: {0}")]
    NotHl7(String),
    #[error("unsupported character encoding: {0}")]
    Encoding(String),
    #[error("the message is truncated or malformed: {0}")]
    Truncated(String),
    #[error("not a result message (ORU^R01): {0}")]
    NotOru(String),
}

/// The separators of a message (MSH-1 and MSH-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Separators {
    fn default() -> Self {
        Separators { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' }
    }
}

/// One segment: its id and its fields as received (escapes still in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    /// `fields[n]` is field n (for MSH, `fields[1]` is MSH-1, the field separator).
    fields: Vec<String>,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub separators: Separators,
    pub segments: Vec<Segment>,
}

/// Strips MLLP framing if present.
fn unframe(bytes: &[u8]) -> &[u8] {
    let b = bytes.strip_prefix(&[0x0b]).unwrap_or(bytes);
    let b = b.strip_suffix(&[0x0d]).filter(|b| b.ends_with(&[0x1c])).unwrap_or(b);
    b.strip_suffix(&[0x1c]).unwrap_or(b)
}

/// Field `n` (1-based, MSH numbering) of the MSH segment, read from the bytes before the
/// text is decoded (to learn the character set first).
fn msh_field(bytes: &[u8], n: usize) -> Option<&[u8]> {
    let end = bytes.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(bytes.len());
    let msh = &bytes[..end];
    let sep = *msh.get(3)?;
    // "MSH" + sep + MSH-2 … : split after "MSH", so part k is MSH-(k+1).
    msh[4..].split(|&b| b == sep).nth(n.checked_sub(2)?)
}

impl Message {
    /// Reads a message from its bytes.
    pub fn parse(bytes: &[u8]) -> Result<Message, Hl7Error> {
        let bytes = unframe(bytes);
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if !bytes.starts_with(b"MSH") {
            return Err(Hl7Error::NotHl7("it does not start with an MSH segment".into()));
        }
        if bytes.len() < 8 {
            return Err(Hl7Error::Truncated("the MSH segment ends before its separators".into()));
        }
        let charset = msh_field(bytes, 18).map(|c| String::from_utf8_lossy(c).trim().to_ascii_uppercase());
        match charset.as_deref() {
            None | Some("") | Some("UNICODE UTF-8") | Some("UTF-8") => {}
            Some("ASCII") => {
                if let Some(i) = bytes.iter().position(|b| *b >= 0x80) {
                    return Err(Hl7Error::Encoding(format!("MSH-18 says ASCII but byte {i} is 0x{:02X}", bytes[i])));
                }
            }
            // An 8859 part written in ASCII alone is the same bytes in UTF-8: read, not guessed.
            Some(other) if other.starts_with("8859/") && bytes.is_ascii() => {}
            Some(other) => {
                return Err(Hl7Error::Encoding(format!(
                    "MSH-18 is {other:?}; only UNICODE UTF-8 and ASCII are accepted (send UTF-8)"
                )));
            }
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Hl7Error::Encoding(format!(
                "the bytes are not UTF-8 (at byte {}); send UTF-8 and say so in MSH-18",
                e.valid_up_to()
            ))
        })?;
        let mut chars = text[3..].chars();
        let field = chars.next().ok_or_else(|| Hl7Error::Truncated("no field separator".into()))?;
        let enc: Vec<char> = chars.take_while(|c| *c != field).collect();
        if enc.len() < 4 || enc.len() > 5 {
            return Err(Hl7Error::Truncated("MSH-2 must hold the four encoding characters".into()));
        }
        let separators =
            Separators { field, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3] };
        let mut all = vec![field];
        all.extend(&enc[..4]);
        if all.iter().any(|c| c.is_alphanumeric() || *c == '\r' || *c == '\n')
            || (1..all.len()).any(|i| all[..i].contains(&all[i]))
        {
            return Err(Hl7Error::NotHl7("the separators in MSH-1 and MSH-2 are not five distinct symbols".into()));
        }
        let mut segments = Vec::new();
        for line in text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()) {
            let mut fields: Vec<String> = line.split(field).map(str::to_owned).collect();
            let id = fields.first().cloned().unwrap_or_default();
            if id.len() != 3 || !id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                return Err(Hl7Error::Truncated(format!("{:?} is not a segment", truncate(line, 20))));
            }
            if id == "MSH" {
                // MSH-1 is the separator itself: shift so that fields[n] is MSH-n.
                fields.insert(1, field.to_string());
            }
            segments.push(Segment { id, fields });
        }
        Ok(Message { separators, segments })
    }

    /// The first segment with id `id`.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// The unescaped value at field `f`, repetition 0, component `c`, sub-component 0 (1-based
    /// `f` and `c`, as HL7 numbers them).
    pub fn value(&self, seg: &Segment, f: usize, c: usize) -> String {
        self.get(seg, f, 0, c)
    }

    /// The unescaped value at field `f`, repetition `r` (0-based), component `c` (1-based).
    pub fn get(&self, seg: &Segment, f: usize, r: usize, c: usize) -> String {
        let s = &self.separators;
        let Some(field) = seg.fields.get(f) else { return String::new() };
        if seg.id == "MSH" && f <= 2 {
            return field.clone();
        }
        let Some(rep) = field.split(s.repetition).nth(r) else { return String::new() };
        let Some(comp) = rep.split(s.component).nth(c.saturating_sub(1)) else { return String::new() };
        let sub = comp.split(s.subcomponent).next().unwrap_or_default();
        self.unescape(sub)
    }

    /// How many fields a segment has (its last field's number).
    pub fn len(seg: &Segment) -> usize {
        seg.fields.len().saturating_sub(1)
    }

    /// Undoes HL7 escapes; an unknown escape is kept as written.
    pub fn unescape(&self, v: &str) -> String {
        let s = &self.separators;
        if !v.contains(s.escape) {
            return v.to_owned();
        }
        let mut out = String::with_capacity(v.len());
        let mut rest = v;
        while let Some(i) = rest.find(s.escape) {
            out.push_str(&rest[..i]);
            let after = &rest[i + s.escape.len_utf8()..];
            let Some(j) = after.find(s.escape) else {
                out.push_str(&rest[i..]);
                return out;
            };
            let seq = &after[..j];
            match seq {
                "F" => out.push(s.field),
                "S" => out.push(s.component),
                "T" => out.push(s.subcomponent),
                "R" => out.push(s.repetition),
                "E" => out.push(s.escape),
                ".br" | ".sp" => out.push('\n'),
                // Highlighting on and off: formatting, not text.
                "H" | "N" => {}
                x if x.starts_with('X') && x.len() > 1 && x.len() % 2 == 1 => {
                    match (1..x.len())
                        .step_by(2)
                        .map(|k| u8::from_str_radix(&x[k..k + 2], 16))
                        .collect::<Result<Vec<u8>, _>>()
                    {
                        Ok(b) if b.is_ascii() => out.push_str(&String::from_utf8_lossy(&b)),
                        _ => {
                            out.push(s.escape);
                            out.push_str(seq);
                            out.push(s.escape);
                        }
                    }
                }
                _ => {
                    out.push(s.escape);
                    out.push_str(seq);
                    out.push(s.escape);
                }
            }
            rest = &after[j + s.escape.len_utf8()..];
        }
        out.push_str(rest);
        out
    }

    /// Escapes text to be put in a field.
    pub fn escape(s: &Separators, v: &str) -> String {
        let mut out = String::with_capacity(v.len());
        for ch in v.chars() {
            let code = match ch {
                c if c == s.escape => Some("E"),
                c if c == s.field => Some("F"),
                c if c == s.component => Some("S"),
                c if c == s.subcomponent => Some("T"),
                c if c == s.repetition => Some("R"),
                '\r' | '\n' => Some(".br"),
                _ => None,
            };
            match code {
                Some(c) => {
                    out.push(s.escape);
                    out.push_str(c);
                    out.push(s.escape);
                }
                None => out.push(ch),
            }
        }
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// What an ORU^R01 says: its control id and sender (for the ACK) and one group of results per
/// OBR, each with its placer order number and the cat.
#[derive(Debug, Clone, PartialEq)]
pub struct OruMessage {
    pub control_id: String,
    pub sending_application: String,
    pub sending_facility: String,
    pub groups: Vec<ImportResults>,
}

/// The MSH facts an ACK needs, read even from a message that is otherwise unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub control_id: String,
    pub sending_application: String,
    pub sending_facility: String,
}

/// The header of a message, as far as it can be read.
pub fn header(bytes: &[u8]) -> Header {
    let bytes = unframe(bytes);
    let text =
        |n| msh_field(bytes, n).map(|b| String::from_utf8_lossy(b).split('^').next().unwrap_or_default().to_owned());
    if !bytes.starts_with(b"MSH") {
        return Header::default();
    }
    Header {
        control_id: text(10).unwrap_or_default(),
        sending_application: text(3).unwrap_or_default(),
        sending_facility: text(4).unwrap_or_default(),
    }
}

/// Reads an ORU^R01: every OBR with the OBX after it. A message without a PID, an OBR without
/// results, or an OBX without an identifier or a value is truncated.
pub fn read_oru(bytes: &[u8]) -> Result<OruMessage, Hl7Error> {
    let m = Message::parse(bytes)?;
    let msh = m.segment("MSH").ok_or_else(|| Hl7Error::NotHl7("no MSH segment".into()))?;
    let (kind, event) = (m.value(msh, 9, 1), m.value(msh, 9, 2));
    if kind != "ORU" || !(event == "R01" || event.is_empty()) {
        return Err(Hl7Error::NotOru(format!("MSH-9 is {kind}^{event}")));
    }
    let control_id = m.value(msh, 10, 1);
    if control_id.is_empty() {
        return Err(Hl7Error::Truncated("MSH-10 (the message control id) is empty".into()));
    }
    let mut patient: Option<String> = None;
    let mut placer: Option<String> = None;
    let mut groups: Vec<ImportResults> = Vec::new();
    let mut seen_pid = false;
    for seg in &m.segments {
        match seg.id.as_str() {
            "PID" => {
                seen_pid = true;
                // PID-3 may repeat (the lab's id, ours): the one whose assigning authority is
                // ours, else the first.
                let reps = seg.fields.get(3).map_or(0, |f| f.split(m.separators.repetition).count());
                let ids: Vec<(String, String)> =
                    (0..reps).map(|r| (m.get(seg, 3, r, 1), m.get(seg, 3, r, 4))).collect();
                patient = ids
                    .iter()
                    .find(|(_, auth)| auth.eq_ignore_ascii_case("CLOWDER"))
                    .or_else(|| ids.first())
                    .map(|(id, _)| id.clone())
                    .filter(|s| !s.is_empty());
                placer = None;
            }
            "ORC" => placer = Some(m.value(seg, 2, 1)).filter(|s| !s.is_empty()),
            "OBR" => {
                if !seen_pid {
                    return Err(Hl7Error::Truncated("an OBR comes before any PID".into()));
                }
                let obr_placer = Some(m.value(seg, 2, 1)).filter(|s| !s.is_empty());
                let test = Some(m.value(seg, 4, 1)).filter(|s| !s.is_empty());
                groups.push(ImportResults {
                    order_id: obr_placer.or_else(|| placer.clone()),
                    patient_id: patient.clone(),
                    test,
                    results: Vec::new(),
                });
            }
            "OBX" => {
                let Some(g) = groups.last_mut() else {
                    return Err(Hl7Error::Truncated("an OBX comes before any OBR".into()));
                };
                if Message::len(seg) < 5 {
                    return Err(Hl7Error::Truncated(format!(
                        "OBX {} ends before its value (OBX-5)",
                        m.value(seg, 1, 1)
                    )));
                }
                let analyte = m.value(seg, 3, 1);
                if analyte.is_empty() {
                    return Err(Hl7Error::Truncated("an OBX has no observation identifier (OBX-3)".into()));
                }
                let status = m.value(seg, 11, 1);
                if matches!(status.as_str(), "X" | "D" | "W") {
                    // Cannot be obtained, deleted, or wrong: not a value.
                    continue;
                }
                let value_type = m.value(seg, 2, 1);
                let raw = m.value(seg, 5, 1);
                let unit = Some(m.value(seg, 6, 1)).filter(|s| !s.is_empty());
                let v = match value_type.as_str() {
                    "NM" | "SN" => ReportedValue {
                        analyte,
                        // An unreadable number stays unread: the group is queued (value and
                        // text both absent), never guessed.
                        value: number(&m, seg, &value_type, &raw),
                        unit,
                        text: None,
                    },
                    "CE" | "CWE" => {
                        let t = Some(m.value(seg, 5, 2)).filter(|s| !s.is_empty()).unwrap_or(raw);
                        ReportedValue { analyte, value: None, unit: None, text: Some(t) }
                    }
                    // Text (ST, TX, FT): a long comment comes as repetitions, one line each.
                    _ => {
                        let reps = seg.fields.get(5).map_or(1, |f| f.split(m.separators.repetition).count());
                        let lines: Vec<String> = (0..reps).map(|r| m.get(seg, 5, r, 1)).collect();
                        ReportedValue { analyte, value: None, unit: None, text: Some(lines.join("\n")) }
                    }
                };
                g.results.push(v);
            }
            _ => {}
        }
    }
    if !seen_pid {
        return Err(Hl7Error::Truncated("the message has no PID segment".into()));
    }
    if groups.is_empty() {
        return Err(Hl7Error::Truncated("the message has no OBR segment".into()));
    }
    if let Some(g) = groups.iter().find(|g| g.results.is_empty()) {
        return Err(Hl7Error::Truncated(format!(
            "the OBR of order {} has no OBX results",
            g.order_id.as_deref().unwrap_or("(no placer number)")
        )));
    }
    Ok(OruMessage { control_id, sending_application: m.value(msh, 3, 1), sending_facility: m.value(msh, 4, 1), groups })
}

/// An NM value, or an SN (structured numeric) with no comparator (`^5.2`) or `=`; `>^14`
/// or a range `^1^-^5` is not a value we can flag, so it is refused.
fn number(m: &Message, seg: &Segment, value_type: &str, raw: &str) -> Option<f64> {
    let text = if value_type == "SN" {
        // No comparator, or "=" (exactly); `>`, `<`, ranges and ratios are not one value.
        if !matches!(m.value(seg, 5, 1).as_str(), "" | "=") || !m.value(seg, 5, 3).is_empty() {
            return None;
        }
        m.value(seg, 5, 2)
    } else {
        raw.to_owned()
    };
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The acknowledgement code of an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Accepted: every result is on its order.
    AA,
    /// Application error: read, but some results wait in the unmatched queue.
    AE,
    /// Rejected: the message could not be read (it is kept in the queue all the same).
    AR,
}

/// The ACK of a message (`now` as HL7's `YYYYMMDDHHMMSS`), with `text` in MSA-3.
pub fn ack(h: &Header, code: AckCode, now: &str, control_id: &str, text: &str) -> String {
    let s = Separators::default();
    let e = |v: &str| Message::escape(&s, v);
    let code = match code {
        AckCode::AA => "AA",
        AckCode::AE => "AE",
        AckCode::AR => "AR",
    };
    format!(
        "MSH|^~\\&|CLOWDER|CLINIC|{}|{}|{now}||ACK^R01^ACK|{}|P|2.5.1||||||UNICODE UTF-8\rMSA|{code}|{}|{}\r",
        e(&h.sending_application),
        e(&h.sending_facility),
        e(control_id),
        e(&h.control_id),
        e(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORU: &str = "MSH|^~\\&|VETLAB|IDEXX|CLOWDER|CLINIC|20261206083000||ORU^R01|MSG0001|P|2.5.1||||||UNICODE UTF-8\r\
PID|1||01JABCDEF^^^CLOWDER~L12345^^^IDEXX||Mochi^^^^||20190301|F\r\
ORC|RE|01JORDER1\r\
OBR|1|01JORDER1|L-99|CHEM10^Chem 10|||20261206080000\r\
OBX|1|NM|CREA^Creatinine||2.9|mg/dL|0.8-2.4|H|||F\r\
OBX|2|NM|GLU^Glucose||5.4|mmol/L|||||F\r\
OBX|3|ST|NOTE^Comment||Lipaemic \\T\\ haemolysed\\.br\\repeat \\F\\ \\S\\ \\E\\|||||F\r\
OBX|4|CE|FELV_AG^FeLV||NEG^negative|||||F\r";

    #[test]
    fn a_realistic_oru_is_read_with_escapes_repetitions_and_components() {
        let m = read_oru(ORU.as_bytes()).unwrap();
        assert_eq!((m.control_id.as_str(), m.sending_application.as_str()), ("MSG0001", "VETLAB"));
        assert_eq!(m.groups.len(), 1);
        let g = &m.groups[0];
        assert_eq!(
            (g.order_id.as_deref(), g.patient_id.as_deref(), g.test.as_deref()),
            (Some("01JORDER1"), Some("01JABCDEF"), Some("CHEM10"))
        );
        assert_eq!(
            g.results[0],
            ReportedValue { analyte: "CREA".into(), value: Some(2.9), unit: Some("mg/dL".into()), text: None }
        );
        assert_eq!(g.results[2].text.as_deref(), Some("Lipaemic & haemolysed\nrepeat | ^ \\"));
        assert_eq!(g.results[3].text.as_deref(), Some("negative"));
    }

    #[test]
    fn other_separators_and_mllp_framing_are_honoured() {
        let msg = ORU.replace('|', "#").replace("\\&", "\\$").replace('^', "*");
        let framed = [&[0x0b][..], msg.as_bytes(), &[0x1c, 0x0d]].concat();
        let m = read_oru(&framed).unwrap();
        assert_eq!(m.groups[0].results[0].analyte, "CREA");
        assert_eq!(m.groups[0].patient_id.as_deref(), Some("01JABCDEF"));
    }

    #[test]
    fn a_truncated_message_is_refused_naming_why() {
        let cut = &ORU[..ORU.find("OBX|1").unwrap() + 20];
        assert!(matches!(read_oru(cut.as_bytes()), Err(Hl7Error::Truncated(_))), "{:?}", read_oru(cut.as_bytes()));
        let no_obx = &ORU[..ORU.find("OBX|1").unwrap()];
        assert!(matches!(read_oru(no_obx.as_bytes()), Err(Hl7Error::Truncated(m)) if m.contains("no OBX")));
        assert!(matches!(read_oru(b"MSH|^~"), Err(Hl7Error::Truncated(_))));
        assert!(matches!(read_oru(b"hello"), Err(Hl7Error::NotHl7(_))));
        let half_segment = format!("{}OB", &ORU[..ORU.find("OBX|4").unwrap()]);
        assert!(matches!(read_oru(half_segment.as_bytes()), Err(Hl7Error::Truncated(_))));
    }

    #[test]
    fn another_encoding_is_refused_never_guessed() {
        let latin = ORU.replace("UNICODE UTF-8", "8859/1").replace("Mochi", "Mimì");
        let mut bytes = latin.into_bytes();
        // Latin-1 "ì" is the one byte 0xEC.
        let at = bytes.windows(2).position(|w| w == "ì".as_bytes()).unwrap();
        bytes.splice(at..at + 2, [0xEC]);
        assert!(matches!(read_oru(&bytes), Err(Hl7Error::Encoding(m)) if m.contains("8859/1")));
        let claims_utf8 = [ORU.as_bytes(), &[0xff, 0xfe]].concat();
        assert!(matches!(read_oru(&claims_utf8), Err(Hl7Error::Encoding(m)) if m.contains("not UTF-8")));
        let ascii = ORU.replace("UNICODE UTF-8", "ASCII").replace("Mochi", "Mimì");
        assert!(matches!(read_oru(ascii.as_bytes()), Err(Hl7Error::Encoding(_))));
        assert_eq!(header(&bytes).control_id, "MSG0001");
    }

    /// The shapes laboratories send that the first tests did not cover (see docs/labs.md,
    /// "The reader and the HL7 crates").
    #[test]
    fn realistic_shapes_crlf_repetitions_components_and_formatting_are_read() {
        // Segments ended by CR LF (a file saved on Windows), one by LF alone.
        let crlf = ORU.replace('\r', "\r\n").replacen("\r\nOBX|2", "\nOBX|2", 1);
        let m = read_oru(crlf.as_bytes()).unwrap();
        assert_eq!(m.groups[0].results.len(), 4);
        assert_eq!(m.groups[0].results[1].unit.as_deref(), Some("mmol/L"));
        let base = &ORU[..ORU.find("OBX|1").unwrap()];
        let with = |obx: &str| read_oru(format!("{base}{obx}\r").as_bytes()).map(|m| m.groups[0].results[0].clone());
        // A long comment as repetitions of OBX-5 (FT): every line kept, in order.
        let ft = with("OBX|1|FT|NOTE^Comment||Line one~Line \\T\\ two~\\H\\Bold\\N\\ three|||||F").unwrap();
        assert_eq!(ft.text.as_deref(), Some("Line one\nLine & two\nBold three"));
        // Escaped separators inside a component stay in that component.
        let cwe = with("OBX|1|CWE|UA_COLOR^Colour||YEL^Yellow \\S\\ straw\\R\\amber^L|||||F").unwrap();
        assert_eq!(cwe.text.as_deref(), Some("Yellow ^ straw~amber"));
        // SN: no comparator or "=" is a value; ">" or a range is not (queued, never guessed).
        assert_eq!(with("OBX|1|SN|TT4^T4||^5.2|ug/dL|||||F").unwrap().value, Some(5.2));
        assert_eq!(with("OBX|1|SN|TT4^T4||=^5.2|ug/dL|||||F").unwrap().value, Some(5.2));
        assert_eq!(with("OBX|1|SN|TT4^T4||>^14|ug/dL|||||F").unwrap().value, None);
        assert_eq!(with("OBX|1|SN|TT4^T4||^1^-^5|ug/dL|||||F").unwrap().value, None);
        // A hex escape of an ASCII byte, and one of a byte that is not (kept as written).
        let x = with("OBX|1|ST|NOTE^Note||A\\X41\\ \\XE9\\|||||F").unwrap();
        assert_eq!(x.text.as_deref(), Some("AA \\XE9\\"));
    }

    #[test]
    fn an_8859_message_written_in_ascii_is_read_and_one_with_other_bytes_is_not() {
        let plain = ORU.replace("UNICODE UTF-8", "8859/1");
        assert_eq!(read_oru(plain.as_bytes()).unwrap().groups[0].results.len(), 4);
        let mut latin = plain.replace("Mochi", "Mimi").into_bytes();
        let at = latin.windows(4).position(|w| w == b"Mimi").unwrap();
        latin[at + 3] = 0xEC;
        assert!(matches!(read_oru(&latin), Err(Hl7Error::Encoding(_))));
        // Another declared charset is refused even in ASCII (UNICODE alone means UCS-2).
        let other = ORU.replace("UNICODE UTF-8", "UNICODE");
        assert!(matches!(read_oru(other.as_bytes()), Err(Hl7Error::Encoding(_))));
    }

    #[test]
    fn the_ack_escapes_what_it_repeats() {
        let h = Header { control_id: "A|B".into(), sending_application: "LAB".into(), sending_facility: "X".into() };
        let a = ack(&h, AckCode::AE, "20261206090000", "C1", "queued: unknown analyte");
        assert!(a.contains("MSA|AE|A\\F\\B|queued: unknown analyte\r"), "{a}");
        assert!(a.starts_with("MSH|^~\\&|CLOWDER|CLINIC|LAB|X|20261206090000||ACK^R01^ACK|C1|"));
    }
}
