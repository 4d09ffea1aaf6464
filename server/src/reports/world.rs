//! The typst [`World`] of one report: an in-memory file system with the
//! template as `main.typ`, the shared `gozcu.typ`, `data.json` and the
//! images, the embedded fonts, and a fixed date.
//!
//! Nothing here reads the disk, the network, the clock or the machine's
//! fonts: the same input gives the same PDF on every server.

use std::collections::HashMap;
use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, PackageError};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The shared functions of the built-in templates (header, footer, photo
/// grid, signature blocks), importable by any template as `gozcu.typ`.
pub const COMMON_PATH: &str = "gozcu.typ";
pub const COMMON_SOURCE: &str = include_str!("../../assets/reports/gozcu.typ");
pub const MAIN_PATH: &str = "main.typ";
pub const DATA_PATH: &str = "data.json";

/// The standard library is the same for every report; building it is not
/// free, so it is built once.
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// The fonts compiled into the binary: Libertinus Serif, New Computer Modern
/// and DejaVu Sans Mono from `typst-assets`. All three cover Turkish
/// (ç ğ ı İ ö ş ü), which the tests check on every built-in template.
static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// The id of a path at the project root. Typst interns every id for the
/// life of the process (at most 65,535 of them), which is why the images are
/// named by position (`photos/0.jpg`) and not by hash.
pub fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("`{path}` is not a valid path: {e}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

pub struct ReportWorld {
    main: Source,
    common: FileId,
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

impl ReportWorld {
    /// `files` are the virtual files besides the template: `data.json` and
    /// the images, by path relative to the root.
    pub fn new(
        template: &str,
        files: impl IntoIterator<Item = (FileId, Bytes)>,
        today: Option<Datetime>,
    ) -> Result<Self, String> {
        Ok(ReportWorld {
            main: Source::new(file_id(MAIN_PATH)?, template.to_owned()),
            common: file_id(COMMON_PATH)?,
            files: files.into_iter().collect(),
            today,
        })
    }

    fn not_found(id: FileId) -> FileError {
        FileError::NotFound(id.vpath().get_without_slash().into())
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == self.common {
            Ok(Source::new(id, COMMON_SOURCE.to_owned()))
        } else {
            let bytes = self.file(id)?;
            let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
            Ok(Source::new(id, text.to_owned()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        // Packages would be downloaded from the internet on first use; a
        // report server must neither reach out nor depend on a cache.
        if let VirtualRoot::Package(spec) = id.root() {
            return Err(FileError::Package(PackageError::Other(Some(
                format!("packages are not available in Gözcü's reports ({spec})").into(),
            ))));
        }
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.text().to_owned()));
        }
        if id == self.common {
            return Ok(Bytes::new(COMMON_SOURCE.as_bytes()));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| Self::not_found(id))
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}
