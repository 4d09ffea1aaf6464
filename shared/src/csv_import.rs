//! The camera CSV format, shared by import (with its dry run) and export.
//!
//! Parsing is pure and reports every problem by line and field; the server
//! then adds the checks that need the database (site names, uniqueness
//! against stored cameras) and imports all rows or none.

use std::collections::HashMap;

use crate::inventory::{AssetFields, Camera, DeviceStatus};
use crate::{ErrorCode, FieldError};

/// Columns of the camera CSV, in export order. `site` is a site's name or
/// code; `recorder` and `location` are names within that site.
pub const CAMERA_COLUMNS: &[&str] = &[
    "site",
    "name",
    "make",
    "model",
    "serial",
    "mac",
    "ip",
    "firmware",
    "status",
    "install_date",
    "warranty_start",
    "warranty_end",
    "asset_number",
    "supplier",
    "purchase_date",
    "rtsp_main_path",
    "rtsp_sub_path",
    "recorder",
    "channel",
    "location",
    "public",
    "tags",
    "notes",
];

const REQUIRED_COLUMNS: &[&str] = &["site", "name", "make"];

/// Largest import we accept in one file; bigger inventories are split.
pub const MAX_ROWS: usize = 50_000;

/// One data row that passed the pure checks. References by name are
/// resolved by the server.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraRow {
    /// 1-based line in the file; the header is line 1.
    pub line: u32,
    pub site: String,
    pub recorder: Option<String>,
    pub location: Option<String>,
    pub camera: Camera,
}

#[derive(Debug, Default, PartialEq)]
pub struct ParsedCsv {
    pub rows: Vec<CameraRow>,
    /// Lines that were read (data rows, not the header).
    pub total_rows: u32,
    pub errors: Vec<FieldError>,
}

/// Parses a camera CSV. Accepts `,` or `;` (Turkish Excel's default) as the
/// separator and a UTF-8 byte-order mark. Bytes that are not UTF-8 are
/// reported with their line, since silently replacing them would corrupt
/// names like "Güvenlik Kulübesi".
pub fn parse_cameras(bytes: &[u8]) -> ParsedCsv {
    let mut out = ParsedCsv::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u32
            + 1;
        out.errors
            .push(FieldError::new("file", ErrorCode::InvalidUtf8).at_line(line));
        return out;
    }
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|&&b| b == b';').count()
        > first_line.iter().filter(|&&b| b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);

    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(_) => {
            out.errors
                .push(FieldError::new("file", ErrorCode::BadRequest).at_line(1));
            return out;
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        match CAMERA_COLUMNS.iter().find(|c| **c == h.as_str()) {
            Some(c) => {
                index.insert(c, i);
            }
            None if h.is_empty() => {}
            None => out
                .errors
                .push(FieldError::new(h.clone(), ErrorCode::UnknownColumn).at_line(1)),
        }
    }
    for c in REQUIRED_COLUMNS {
        if !index.contains_key(c) {
            out.errors
                .push(FieldError::new(*c, ErrorCode::MissingColumn).at_line(1));
        }
    }
    if !out.errors.is_empty() {
        return out;
    }

    // Identity fields must be unique inside the file too; remember where
    // each was first seen.
    let mut seen_serial: HashMap<String, u32> = HashMap::new();
    let mut seen_ip: HashMap<String, u32> = HashMap::new();
    let mut seen_mac: HashMap<String, u32> = HashMap::new();

    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as u32).unwrap_or(0);
                out.total_rows += 1;
                out.errors
                    .push(FieldError::new("file", ErrorCode::BadRequest).at_line(line));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
        if record.iter().all(|f| f.is_empty()) {
            continue; // Blank lines at the end of spreadsheets are harmless.
        }
        out.total_rows += 1;
        if out.total_rows as usize > MAX_ROWS {
            out.errors
                .push(FieldError::new("file", ErrorCode::TooLong).at_line(line));
            break;
        }
        let get = |col: &str| {
            index
                .get(col)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let opt = |col: &str| Some(get(col)).filter(|s| !s.is_empty());
        let mut errors = Vec::new();

        let status = match get("status").as_str() {
            "" => DeviceStatus::Installed,
            s => DeviceStatus::parse(s).unwrap_or_else(|| {
                errors.push(FieldError::new("status", ErrorCode::InvalidStatus).at_line(line));
                DeviceStatus::Installed
            }),
        };
        let recorder_channel = match get("channel").as_str() {
            "" => None,
            s => match s.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(FieldError::new("channel", ErrorCode::InvalidNumber).at_line(line));
                    None
                }
            },
        };
        let public = match get("public").to_lowercase().as_str() {
            "" | "0" | "false" | "hayır" | "hayir" | "no" => false,
            "1" | "true" | "evet" | "yes" => true,
            _ => {
                errors.push(FieldError::new("public", ErrorCode::BadRequest).at_line(line));
                false
            }
        };
        let site = get("site");
        if site.is_empty() {
            errors.push(FieldError::new("site", ErrorCode::Required).at_line(line));
        }
        let recorder = opt("recorder");
        let camera = Camera {
            name: get("name"),
            asset: AssetFields {
                make: get("make"),
                model: opt("model"),
                serial: opt("serial"),
                mac: opt("mac"),
                ip: opt("ip"),
                firmware: opt("firmware"),
                status,
                install_date: opt("install_date"),
                warranty_start: opt("warranty_start"),
                warranty_end: opt("warranty_end"),
                asset_number: opt("asset_number"),
                supplier: opt("supplier"),
                purchase_date: opt("purchase_date"),
                notes: opt("notes"),
            },
            rtsp_main_path: opt("rtsp_main_path"),
            rtsp_sub_path: opt("rtsp_sub_path"),
            recorder_channel,
            public,
            tags: get("tags")
                .split(['|', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            ..Default::default()
        };
        // The recorder is named, not referenced by id, in a CSV, so the
        // camera is checked without its channel and the channel on its own.
        let raw = camera.clone();
        let camera = match (Camera {
            recorder_channel: None,
            ..camera
        })
        .normalize()
        {
            Ok(c) => Some(Camera {
                recorder_channel,
                ..c
            }),
            Err(fields) => {
                errors.extend(fields.into_iter().map(|f| f.at_line(line)));
                None
            }
        };
        if recorder_channel == Some(0) {
            errors.push(FieldError::new("channel", ErrorCode::ChannelOutOfRange).at_line(line));
        }
        if recorder_channel.is_some() && recorder.is_none() {
            errors.push(FieldError::new("recorder", ErrorCode::Required).at_line(line));
        }
        // Duplicates inside the file are reported even on rows with other
        // errors, so that one dry run shows everything to fix.
        let a = &raw.asset;
        if let Some(serial) = a.serial.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            check_dup(
                &mut seen_serial,
                crate::validate::serial_key(&a.make, serial),
                line,
                "serial",
                ErrorCode::DuplicateSerial,
                &mut errors,
            );
        }
        if let Some(ip) = a.ip.as_deref().and_then(|v| crate::validate::ip(v).ok()) {
            check_dup(
                &mut seen_ip,
                ip,
                line,
                "ip",
                ErrorCode::DuplicateIp,
                &mut errors,
            );
        }
        if let Some(mac) = a.mac.as_deref().and_then(|v| crate::validate::mac(v).ok()) {
            check_dup(
                &mut seen_mac,
                mac,
                line,
                "mac",
                ErrorCode::DuplicateMac,
                &mut errors,
            );
        }
        match camera {
            Some(camera) if errors.is_empty() => out.rows.push(CameraRow {
                line,
                site,
                recorder,
                location: opt("location"),
                camera,
            }),
            _ => out.errors.extend(errors),
        }
    }
    out
}

fn check_dup(
    seen: &mut HashMap<String, u32>,
    key: String,
    line: u32,
    field: &str,
    code: ErrorCode,
    errors: &mut Vec<FieldError>,
) {
    match seen.entry(key) {
        std::collections::hash_map::Entry::Occupied(_) => {
            errors.push(FieldError::new(field, code).at_line(line))
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(line);
        }
    }
}

/// One camera as a CSV record in [`CAMERA_COLUMNS`] order.
pub fn camera_record(
    c: &Camera,
    site: &str,
    recorder: Option<&str>,
    location: Option<&str>,
) -> Vec<String> {
    let a = &c.asset;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        site.to_owned(),
        c.name.clone(),
        a.make.clone(),
        s(&a.model),
        s(&a.serial),
        s(&a.mac),
        s(&a.ip),
        s(&a.firmware),
        a.status.as_str().to_owned(),
        s(&a.install_date),
        s(&a.warranty_start),
        s(&a.warranty_end),
        s(&a.asset_number),
        s(&a.supplier),
        s(&a.purchase_date),
        s(&c.rtsp_main_path),
        s(&c.rtsp_sub_path),
        recorder.unwrap_or_default().to_owned(),
        c.recorder_channel
            .map(|n| n.to_string())
            .unwrap_or_default(),
        location.unwrap_or_default().to_owned(),
        if c.public { "true" } else { "false" }.to_owned(),
        c.tags.join("|"),
        s(&a.notes),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(csv: &str) -> Vec<(Option<u32>, String, ErrorCode)> {
        parse_cameras(csv.as_bytes())
            .errors
            .into_iter()
            .map(|e| (e.line, e.field, e.code))
            .collect()
    }

    #[test]
    fn good_file_with_semicolons_and_bom() {
        let csv = "\u{feff}site;name;make;serial;ip;mac;status;channel;recorder;public;tags\n\
                   Rektörlük;Giriş;Hikvision;SN1;10.0.0.1;00:11:22:33:44:55;kurulu;1;NVR-1;evet;dış|giriş\n\
                   Rektörlük;Otopark;Dahua;SN2;10.0.0.2;;;;;;\n\n";
        let p = parse_cameras(csv.as_bytes());
        assert_eq!(p.errors, vec![]);
        assert_eq!(p.total_rows, 2);
        assert_eq!(p.rows[0].line, 2);
        assert_eq!(p.rows[0].site, "Rektörlük");
        assert_eq!(p.rows[0].camera.asset.status, DeviceStatus::Installed);
        assert_eq!(p.rows[0].camera.tags, vec!["dış", "giriş"]);
        assert!(p.rows[0].camera.public);
        assert_eq!(p.rows[1].line, 3);
        assert_eq!(p.rows[1].recorder, None);
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_field() {
        let csv = "site,name,make,ip,mac,serial,warranty_start,warranty_end,channel\n\
                   A,Cam1,Axis,10.0.0.1,,S1,,,\n\
                   A,Cam2,Axis,10.0.0.999,,S2,,,\n\
                   A,,Axis,10.0.0.3,,S3,,,\n\
                   A,Cam4,Axis,10.0.0.1,,s1,2025-01-01,2024-01-01,x\n";
        assert_eq!(
            errors(csv),
            vec![
                (Some(3), "ip".into(), ErrorCode::InvalidIp),
                (Some(4), "name".into(), ErrorCode::Required),
                (Some(5), "channel".into(), ErrorCode::InvalidNumber),
                (
                    Some(5),
                    "warranty_end".into(),
                    ErrorCode::WarrantyEndBeforeStart
                ),
                (Some(5), "serial".into(), ErrorCode::DuplicateSerial),
                (Some(5), "ip".into(), ErrorCode::DuplicateIp),
            ]
        );
    }

    #[test]
    fn quoted_newlines_keep_line_numbers_right() {
        let csv = "site,name,make,notes\nA,C1,Axis,\"two\nlines\"\nA,,Axis,\n";
        assert_eq!(
            errors(csv),
            vec![(Some(4), "name".into(), ErrorCode::Required)]
        );
    }

    #[test]
    fn header_problems() {
        assert_eq!(
            errors("name,make,colour\n"),
            vec![
                (Some(1), "colour".into(), ErrorCode::UnknownColumn),
                (Some(1), "site".into(), ErrorCode::MissingColumn)
            ]
        );
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let mut bytes = b"site,name,make\nA,B,C\nA,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b",Axis\n");
        let p = parse_cameras(&bytes);
        assert_eq!(
            p.errors,
            vec![FieldError::new("file", ErrorCode::InvalidUtf8).at_line(3)]
        );
        assert!(p.rows.is_empty());
    }

    #[test]
    fn sql_metacharacters_are_just_text() {
        let p = parse_cameras(b"site,name,make\nA,\"x'); DROP TABLE cameras;--\",Axis\n");
        assert_eq!(p.errors, vec![]);
        assert_eq!(p.rows[0].camera.name, "x'); DROP TABLE cameras;--");
    }

    #[test]
    fn export_round_trips() {
        let csv = "site,name,make,serial,ip,recorder,channel,tags,public\nA,Cam,Axis,S9,10.1.1.1,NVR,2,a|b,true\n";
        let p = parse_cameras(csv.as_bytes());
        let row = &p.rows[0];
        let record = camera_record(&row.camera, &row.site, row.recorder.as_deref(), None);
        let mut w = csv::Writer::from_writer(vec![]);
        w.write_record(CAMERA_COLUMNS).unwrap();
        w.write_record(&record).unwrap();
        let again = parse_cameras(&w.into_inner().unwrap());
        assert_eq!(again.errors, vec![]);
        assert_eq!(again.rows[0].camera, row.camera);
    }
}
