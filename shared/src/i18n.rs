//! The two languages of the UI. Turkish is the default everywhere.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Tr,
    En,
}

impl Lang {
    /// Picks the language from an `Accept-Language` header or a stored
    /// preference: English only when it is asked for before Turkish.
    pub fn from_header(value: &str) -> Lang {
        for part in value.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("tr") {
                return Lang::Tr;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Tr
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Tr => "tr",
            Lang::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_picks_first_known_language() {
        assert_eq!(Lang::from_header("en-US,en;q=0.9,tr;q=0.8"), Lang::En);
        assert_eq!(Lang::from_header("tr-TR,en;q=0.5"), Lang::Tr);
        assert_eq!(Lang::from_header("de-DE"), Lang::Tr);
        assert_eq!(Lang::from_header(""), Lang::Tr);
    }
}
