//! Field parsers shared by forms, CSV import and the server. Each returns the
//! canonical form of a valid value, so what is stored never depends on how a
//! user typed it ("parse, don't validate").

use std::net::IpAddr;

use crate::ErrorCode;

/// Longest free-text field we accept; names and notes beyond this are almost
/// certainly pasted garbage.
pub const MAX_TEXT: usize = 200;
pub const MAX_NOTES: usize = 4000;

/// Trims and checks the length of a required text field.
pub fn required_text(value: &str, max: usize) -> Result<String, ErrorCode> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ErrorCode::Required);
    }
    optional_text(v, max).map(|o| o.unwrap_or_default())
}

/// Trims an optional text field; blank becomes `None`.
pub fn optional_text(value: &str, max: usize) -> Result<Option<String>, ErrorCode> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(ErrorCode::TooLong);
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        // Control characters in inventory fields only ever come from broken
        // exports and break CSV round trips.
        return Err(ErrorCode::BadRequest);
    }
    Ok(Some(v.to_owned()))
}

/// Parses an IPv4 or IPv6 address into its canonical text form.
pub fn ip(value: &str) -> Result<String, ErrorCode> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| ErrorCode::InvalidIp)
}

/// Parses a MAC address written with `:`, `-`, `.` or no separators into
/// lowercase `aa:bb:cc:dd:ee:ff`.
pub fn mac(value: &str) -> Result<String, ErrorCode> {
    let hex: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ErrorCode::InvalidMac);
    }
    let separators_ok = {
        let v = value.trim();
        v.len() == 12 || v.len() == 17 || v.len() == 14
    };
    if !separators_ok {
        return Err(ErrorCode::InvalidMac);
    }
    let lower = hex.to_ascii_lowercase();
    let parts: Vec<&str> = (0..6).map(|i| &lower[i * 2..i * 2 + 2]).collect();
    Ok(parts.join(":"))
}

/// The key under which serial numbers are compared: vendors print the same
/// serial in different cases and with stray spaces.
pub fn serial_key(make: &str, serial: &str) -> String {
    format!(
        "{}\u{1f}{}",
        make.trim().to_lowercase(),
        serial.trim().to_uppercase()
    )
}

/// A calendar date `YYYY-MM-DD` (proleptic Gregorian). Stored and sent as
/// that text, which also sorts correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(value: &str) -> Result<Date, ErrorCode> {
        let v = value.trim();
        let b = v.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(ErrorCode::InvalidDate);
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| ErrorCode::InvalidDate);
        let year = num(&v[0..4])? as i32;
        let month = num(&v[5..7])? as u8;
        let day = num(&v[8..10])? as u8;
        if !(1900..=2200).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(ErrorCode::InvalidDate);
        }
        Ok(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        Date {
            year: (y + i64::from(m <= 2)) as i32,
            month: m,
            day: d,
        }
    }

    /// The date of a Unix timestamp in milliseconds, in UTC.
    pub fn from_unix_ms(ms: i64) -> Date {
        Date::from_days(ms.div_euclid(86_400_000))
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// On the wire a date is its `YYYY-MM-DD` text, the same form forms and CSV
/// files use, so a due date in an API answer needs no special handling.
impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI document a date is a string in the `date` format.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Date {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .examples(["2026-03-01"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Date {}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses an optional date field; blank is `None`.
pub fn optional_date(value: &str) -> Result<Option<String>, ErrorCode> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Date::parse(value).map(|d| Some(d.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses() {
        let cases = [
            ("10.0.0.1", Ok("10.0.0.1")),
            (" 192.168.1.200 ", Ok("192.168.1.200")),
            ("fe80::1", Ok("fe80::1")),
            ("2001:DB8::1", Ok("2001:db8::1")),
            ("256.0.0.1", Err(ErrorCode::InvalidIp)),
            ("10.0.0", Err(ErrorCode::InvalidIp)),
            ("10.0.0.1; DROP TABLE cameras", Err(ErrorCode::InvalidIp)),
            ("", Err(ErrorCode::InvalidIp)),
        ];
        for (input, want) in cases {
            assert_eq!(ip(input).as_deref().map_err(|e| *e), want, "{input:?}");
        }
    }

    #[test]
    fn mac_addresses() {
        let cases = [
            ("00:11:22:AA:bb:cc", Ok("00:11:22:aa:bb:cc")),
            ("00-11-22-AA-BB-CC", Ok("00:11:22:aa:bb:cc")),
            ("0011.22aa.bbcc", Ok("00:11:22:aa:bb:cc")),
            ("001122aabbcc", Ok("00:11:22:aa:bb:cc")),
            ("00:11:22:aa:bb", Err(ErrorCode::InvalidMac)),
            ("00:11:22:aa:bb:cg", Err(ErrorCode::InvalidMac)),
            ("0:0:1:1:2:2:a:a:b:b:c:c", Err(ErrorCode::InvalidMac)),
        ];
        for (input, want) in cases {
            assert_eq!(mac(input).as_deref().map_err(|e| *e), want, "{input:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(Date::parse("2023-02-29"), Err(ErrorCode::InvalidDate));
        assert_eq!(Date::parse("2023-13-01"), Err(ErrorCode::InvalidDate));
        assert_eq!(Date::parse("23-01-01"), Err(ErrorCode::InvalidDate));
        assert_eq!(Date::parse("01.02.2023"), Err(ErrorCode::InvalidDate));
        assert_eq!(optional_date("  "), Ok(None));
    }

    #[test]
    fn dates_travel_as_text() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(serde_json::to_value(d).unwrap(), "2024-02-29");
        assert_eq!(serde_json::from_str::<Date>("\"2024-02-29\"").unwrap(), d);
        assert!(serde_json::from_str::<Date>("\"2023-02-29\"").is_err());
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(Date::parse("1970-01-01").unwrap().to_days(), 0);
        assert_eq!(Date::parse("2000-03-01").unwrap().to_days(), 11_017);
        for days in (-40_000..80_000).step_by(37) {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
        assert_eq!(
            Date::from_unix_ms(1_700_000_000_000).to_string(),
            "2023-11-14"
        );
    }

    #[test]
    fn text_fields() {
        assert_eq!(required_text("  ", 10), Err(ErrorCode::Required));
        assert_eq!(required_text(" Kamera 1 ", 10), Ok("Kamera 1".into()));
        assert_eq!(required_text("ğüşiöçĞÜŞİ", 10), Ok("ğüşiöçĞÜŞİ".into()));
        assert_eq!(required_text("ğüşiöçĞÜŞİx", 10), Err(ErrorCode::TooLong));
        assert_eq!(optional_text("a\u{0}b", 10), Err(ErrorCode::BadRequest));
        assert_eq!(optional_text("", 10), Ok(None));
    }

    #[test]
    fn serial_keys_ignore_case_and_space() {
        assert_eq!(
            serial_key("Hikvision ", " ab12"),
            serial_key("hikvision", "AB12")
        );
        assert_ne!(serial_key("Dahua", "AB12"), serial_key("Hikvision", "AB12"));
    }
}

/// Folds text for search: lowercase, and Turkish letters to their plain
/// Latin twins, so that "guvenlik" finds "Güvenlik Kulübesi" on a tablet
/// keyboard without Turkish keys, and "ISIK" finds "Işık".
pub fn search_fold(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            'İ' | 'I' | 'ı' | 'i' => Some('i'),
            'Ş' | 'ş' => Some('s'),
            'Ğ' | 'ğ' => Some('g'),
            'Ü' | 'ü' => Some('u'),
            'Ö' | 'ö' => Some('o'),
            'Ç' | 'ç' => Some('c'),
            '\u{307}' => None, // combining dot above, from decomposed "İ"
            c => Some(c),
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod fold_tests {
    use super::search_fold;

    #[test]
    fn turkish_letters_fold_to_latin() {
        assert_eq!(search_fold("Güvenlik Kulübesi"), "guvenlik kulubesi");
        assert_eq!(search_fold("IŞIK İSTASYON"), "isik istasyon");
        assert_eq!(search_fold("ÇÖĞ-12:AB"), "cog-12:ab");
    }
}
