//! Stable error codes. The server sends a code (and a message in the caller's
//! language for tools like curl); the app translates the code itself and never
//! parses message strings. Codes are part of the public API: never rename one.

use serde::{Deserialize, Serialize};

use crate::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Request-level errors.
    Unauthenticated,
    Forbidden,
    NotFound,
    CsrfFailed,
    InvalidCredentials,
    AccountLocked,
    TooManyRequests,
    BodyTooLarge,
    BadRequest,
    InvalidJson,
    InvalidUtf8,
    Validation,
    Conflict,
    Internal,
    // Field-level errors (inside `ApiError::fields`).
    Required,
    TooLong,
    InvalidIp,
    InvalidMac,
    InvalidDate,
    InvalidNumber,
    InvalidStatus,
    InvalidRole,
    WarrantyEndBeforeStart,
    ChannelOutOfRange,
    DuplicateSerial,
    DuplicateIp,
    DuplicateMac,
    DuplicateName,
    UnknownSite,
    UnknownRecorder,
    UnknownLocation,
    UnknownColumn,
    MissingColumn,
    WeakPassword,
    NotInScope,
    // Checklists (DOMAIN.md §10–11).
    InvalidAnswer,
    NotInteger,
    OutOfRange,
    UnknownChoice,
    DuplicateValue,
    InvalidHash,
    TooFewPhotos,
    TooManyPhotos,
    UnknownItem,
    RunLocked,
    RunNotCompleted,
    ReasonRequired,
    // Checklist templates.
    InvalidTemplate,
    InvalidKey,
    DuplicateId,
    InvalidRange,
    TooFewOptions,
    InvalidCondition,
    // Faults (DOMAIN.md §9).
    InvalidTransition,
    AssigneeRequired,
    FaultFormRequired,
    // Sync protocol.
    ClientOutdated,
    ServerOutdated,
    ClockAhead,
    NotSyncable,
    UnknownField,
    SyncRejected,
    // Faults and maintenance schedules (DOMAIN.md §9–10).
    UnknownDevice,
    DeviceNotInSite,
    UnknownUser,
    UnknownTemplate,
    FaultClosed,
}

impl ErrorCode {
    /// The wire name; a unit test keeps it equal to serde's.
    pub fn as_str(self) -> &'static str {
        self.message_pair().0
    }

    /// `(code, turkish, english)` — the code string is repeated here so that
    /// `as_str` needs no allocation.
    fn message_pair(self) -> (&'static str, &'static str, &'static str) {
        use ErrorCode::*;
        match self {
            Unauthenticated => ("unauthenticated", "Oturum açmanız gerekiyor.", "You need to log in."),
            Forbidden => ("forbidden", "Bu işlem için yetkiniz yok.", "You are not allowed to do this."),
            NotFound => ("not_found", "Kayıt bulunamadı.", "Not found."),
            CsrfFailed => (
                "csrf_failed",
                "Güvenlik belirteci eksik ya da hatalı; sayfayı yenileyip tekrar deneyin.",
                "Security token missing or wrong; reload the page and try again.",
            ),
            InvalidCredentials => ("invalid_credentials", "Kullanıcı adı veya şifre hatalı.", "Wrong username or password."),
            AccountLocked => (
                "account_locked",
                "Çok fazla hatalı giriş: hesap geçici olarak kilitlendi, birkaç dakika sonra tekrar deneyin.",
                "Too many failed logins: the account is locked for a few minutes, try again later.",
            ),
            TooManyRequests => ("too_many_requests", "Çok fazla istek; biraz bekleyin.", "Too many requests; wait a moment."),
            BodyTooLarge => ("body_too_large", "Gönderilen veri çok büyük.", "The request body is too large."),
            BadRequest => ("bad_request", "İstek anlaşılamadı.", "The request could not be understood."),
            InvalidJson => ("invalid_json", "Gönderilen JSON geçersiz.", "The JSON sent is invalid."),
            InvalidUtf8 => (
                "invalid_utf8",
                "Dosya UTF-8 değil; UTF-8 olarak kaydedip tekrar yükleyin.",
                "The file is not UTF-8; save it as UTF-8 and upload again.",
            ),
            Validation => ("validation", "Bazı alanlar hatalı.", "Some fields are invalid."),
            Conflict => ("conflict", "Kayıt başka bir kayıtla çakışıyor.", "The record conflicts with another one."),
            Internal => ("internal", "Sunucu hatası; yöneticinize bildirin.", "Server error; tell your administrator."),
            Required => ("required", "Bu alan zorunlu.", "This field is required."),
            TooLong => ("too_long", "Çok uzun.", "Too long."),
            InvalidIp => ("invalid_ip", "Geçerli bir IPv4/IPv6 adresi değil.", "Not a valid IPv4/IPv6 address."),
            InvalidMac => ("invalid_mac", "Geçerli bir MAC adresi değil (ör. 00:11:22:33:44:55).", "Not a valid MAC address (e.g. 00:11:22:33:44:55)."),
            InvalidDate => ("invalid_date", "Tarih YYYY-AA-GG biçiminde olmalı.", "Date must be YYYY-MM-DD."),
            InvalidNumber => ("invalid_number", "Geçerli bir sayı değil.", "Not a valid number."),
            InvalidStatus => (
                "invalid_status",
                "Durum planned, installed, faulty veya retired olmalı.",
                "Status must be planned, installed, faulty or retired.",
            ),
            InvalidRole => ("invalid_role", "Geçersiz rol.", "Invalid role."),
            WarrantyEndBeforeStart => (
                "warranty_end_before_start",
                "Garanti bitişi başlangıçtan önce olamaz.",
                "Warranty end cannot be before its start.",
            ),
            ChannelOutOfRange => (
                "channel_out_of_range",
                "Kanal numarası kayıt cihazının kanal sayısını aşıyor.",
                "Channel number exceeds the recorder's channel count.",
            ),
            DuplicateSerial => ("duplicate_serial", "Bu markada aynı seri numarası zaten kayıtlı.", "This serial number is already registered for this make."),
            DuplicateIp => ("duplicate_ip", "Bu IP adresi başka bir cihazda kullanılıyor.", "This IP address is used by another device."),
            DuplicateMac => ("duplicate_mac", "Bu MAC adresi başka bir cihazda kayıtlı.", "This MAC address is registered on another device."),
            DuplicateName => ("duplicate_name", "Bu ad zaten kullanılıyor.", "This name is already in use."),
            UnknownSite => ("unknown_site", "Böyle bir saha yok.", "No such site."),
            UnknownRecorder => ("unknown_recorder", "Böyle bir kayıt cihazı yok.", "No such recorder."),
            UnknownLocation => ("unknown_location", "Böyle bir konum yok.", "No such location."),
            UnknownColumn => ("unknown_column", "Bilinmeyen sütun.", "Unknown column."),
            MissingColumn => ("missing_column", "Zorunlu sütun eksik.", "A required column is missing."),
            WeakPassword => ("weak_password", "Şifre en az 10 karakter olmalı.", "Password must be at least 10 characters."),
            NotInScope => ("not_in_scope", "Bu saha yetki alanınızda değil.", "This site is outside your scope."),
            InvalidAnswer => (
                "invalid_answer",
                "Bu yanıt bu soru için geçerli değil.",
                "This answer is not valid for this question.",
            ),
            NotInteger => ("not_integer", "Tam sayı olmalı.", "Must be a whole number."),
            OutOfRange => ("out_of_range", "Değer izin verilen aralığın dışında.", "The value is outside the allowed range."),
            UnknownChoice => ("unknown_choice", "Bu seçenek listede yok.", "This option is not in the list."),
            DuplicateValue => (
                "duplicate_value",
                "Aynı değer birden fazla kez girilmiş.",
                "The same value appears more than once.",
            ),
            InvalidHash => (
                "invalid_hash",
                "Dosya özeti (SHA-256) geçersiz; dosyayı yeniden ekleyin.",
                "The file hash (SHA-256) is invalid; attach the file again.",
            ),
            TooFewPhotos => ("too_few_photos", "Daha fazla fotoğraf gerekiyor.", "More photos are required."),
            TooManyPhotos => ("too_many_photos", "Fotoğraf sayısı sınırı aşıldı.", "Too many photos."),
            UnknownItem => ("unknown_item", "Bu soru formda yok.", "This question is not part of the form."),
            RunLocked => (
                "run_locked",
                "Form tamamlandı ve kilitlendi; değişiklik için gerekçeli düzeltme yapın.",
                "The form is completed and locked; make an amendment with a reason instead.",
            ),
            RunNotCompleted => (
                "run_not_completed",
                "Form henüz tamamlanmadı; yanıtı doğrudan değiştirin.",
                "The form is not completed yet; change the answer directly.",
            ),
            ReasonRequired => (
                "reason_required",
                "Düzeltmenin gerekçesini yazın.",
                "Give a reason for the amendment.",
            ),
            InvalidTemplate => ("invalid_template", "Form şablonu geçersiz.", "The checklist template is invalid."),
            InvalidKey => (
                "invalid_key",
                "Anahtar küçük harfle başlamalı; yalnızca küçük harf (a-z), rakam ve alt çizgi içerebilir.",
                "The key must start with a lowercase letter and contain only a-z, digits and underscores.",
            ),
            DuplicateId => ("duplicate_id", "Bu kimlik (ID) birden fazla kez kullanılmış.", "This id is used more than once."),
            InvalidRange => (
                "invalid_range",
                "Alt ve üst sınırlar tutarsız.",
                "The lower and upper limits do not fit together.",
            ),
            TooFewOptions => ("too_few_options", "Seçenek sayısı yetersiz.", "Not enough options."),
            InvalidCondition => (
                "invalid_condition",
                "Koşul yalnızca daha önceki bir soruya ve o sorunun geçerli bir yanıtına bağlanabilir.",
                "A condition can only refer to an earlier question and a valid answer to it.",
            ),
            InvalidTransition => (
                "invalid_transition",
                "Arıza kaydı bu durumdan o duruma geçirilemez.",
                "The fault cannot move from this status to that one.",
            ),
            AssigneeRequired => (
                "assignee_required",
                "Önce arızayı bir teknisyene atayın.",
                "Assign the fault to a technician first.",
            ),
            FaultFormRequired => (
                "fault_form_required",
                "Arıza kapatılmadan önce arıza formu doldurulup tamamlanmalı.",
                "A completed fault form is required before the fault is closed.",
            ),
            ClientOutdated => (
                "client_outdated",
                "Uygulamanın yeni bir sürümü var: göndermeden önce sayfayı yenileyip güncelleyin. Gönderilmemiş değişiklikleriniz cihazda saklı.",
                "A newer version of the app is required: reload the page to update before syncing. Your unsent changes are kept on this device.",
            ),
            ServerOutdated => (
                "server_outdated",
                "Sunucu bu uygulama sürümünden eski; yöneticinize sunucuyu güncellemesini söyleyin.",
                "The server is older than this app; ask your administrator to update it.",
            ),
            ClockAhead => (
                "clock_ahead",
                "Cihazın saati sunucudan çok ileride; tarih ve saati düzeltip değişikliği yeniden girin.",
                "This device's clock is far ahead of the server; fix the date and time and enter the change again.",
            ),
            NotSyncable => (
                "not_syncable",
                "Bu tür kayıt çevrimdışı değiştirilemez; çevrimiçiyken düzenleyin.",
                "This kind of record cannot be changed offline; edit it while online.",
            ),
            UnknownField => ("unknown_field", "Bilinmeyen alan.", "Unknown field."),
            SyncRejected => (
                "sync_rejected",
                "Değişiklik sunucuda kabul edilmedi.",
                "The server did not accept the change.",
            ),
            UnknownDevice => ("unknown_device", "Böyle bir cihaz yok.", "No such device."),
            DeviceNotInSite => (
                "device_not_in_site",
                "Bu cihaz seçilen sahada değil.",
                "This device is not in the chosen site.",
            ),
            UnknownUser => (
                "unknown_user",
                "Böyle bir etkin kullanıcı yok ya da bu sahada yetkisi yok.",
                "No such active user, or the user has no access to this site.",
            ),
            UnknownTemplate => ("unknown_template", "Böyle bir form şablonu yok.", "No such checklist template."),
            FaultClosed => (
                "fault_closed",
                "Arıza kaydı kapatıldı; değiştirilemez. Arıza tekrarladıysa yeni kayıt açın.",
                "The fault is closed and cannot be changed. If it came back, open a new fault.",
            ),
        }
    }

    pub fn message(self, lang: Lang) -> &'static str {
        let (_, tr, en) = self.message_pair();
        match lang {
            Lang::Tr => tr,
            Lang::En => en,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message_pair().0)
    }
}

/// One problem with one field, optionally on one line of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub code: ErrorCode,
    /// 1-based line of the CSV file (the header is line 1), for imports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode) -> Self {
        FieldError {
            field: field.into(),
            code,
            line: None,
        }
    }

    pub fn at_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }
}

/// The one error body of the whole API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, lang: Lang) -> Self {
        ApiError {
            code,
            message: code.message(lang).to_owned(),
            fields: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_strings_match_serde_names() {
        // The hand-written names must equal what serde puts on the wire.
        use ErrorCode::*;
        for code in [
            Unauthenticated,
            Forbidden,
            NotFound,
            CsrfFailed,
            InvalidCredentials,
            AccountLocked,
            TooManyRequests,
            BodyTooLarge,
            BadRequest,
            InvalidJson,
            InvalidUtf8,
            Validation,
            Conflict,
            Internal,
            Required,
            TooLong,
            InvalidIp,
            InvalidMac,
            InvalidDate,
            InvalidNumber,
            InvalidStatus,
            InvalidRole,
            WarrantyEndBeforeStart,
            ChannelOutOfRange,
            DuplicateSerial,
            DuplicateIp,
            DuplicateMac,
            DuplicateName,
            UnknownSite,
            UnknownRecorder,
            UnknownLocation,
            UnknownColumn,
            MissingColumn,
            WeakPassword,
            NotInScope,
            InvalidAnswer,
            NotInteger,
            OutOfRange,
            UnknownChoice,
            DuplicateValue,
            InvalidHash,
            TooFewPhotos,
            TooManyPhotos,
            UnknownItem,
            RunLocked,
            RunNotCompleted,
            ReasonRequired,
            InvalidTemplate,
            InvalidKey,
            DuplicateId,
            InvalidRange,
            TooFewOptions,
            InvalidCondition,
            InvalidTransition,
            AssigneeRequired,
            FaultFormRequired,
            ClientOutdated,
            ServerOutdated,
            ClockAhead,
            NotSyncable,
            UnknownField,
            SyncRejected,
            UnknownDevice,
            DeviceNotInSite,
            UnknownUser,
            UnknownTemplate,
            FaultClosed,
        ] {
            let wire = serde_json::to_value(code).unwrap();
            assert_eq!(wire.as_str().unwrap(), code.as_str());
            assert!(!code.message(Lang::Tr).is_empty());
            assert!(!code.message(Lang::En).is_empty());
            assert_ne!(
                code.message(Lang::Tr),
                code.message(Lang::En),
                "{code} untranslated"
            );
        }
    }
}
