//! Roles and the permission matrix. The server checks a [`Permission`] on
//! every endpoint; the app uses the same matrix only to hide buttons.

use serde::{Deserialize, Serialize};

use crate::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Technician,
    Operator,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Supervisor,
        Role::Technician,
        Role::Operator,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::Admin, Lang::Tr) => "Yönetici",
            (Role::Admin, Lang::En) => "Administrator",
            (Role::Supervisor, Lang::Tr) => "Yetkili amir",
            (Role::Supervisor, Lang::En) => "Supervisor",
            (Role::Technician, Lang::Tr) => "Teknisyen",
            (Role::Technician, Lang::En) => "Technician",
            (Role::Operator, Lang::Tr) => "Operatör",
            (Role::Operator, Lang::En) => "Operator",
            (Role::Viewer, Lang::Tr) => "İzleyici",
            (Role::Viewer, Lang::En) => "Viewer",
        }
    }

    /// The permission matrix. Kept as one exhaustive match so that adding a
    /// permission forces a decision for every role.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            // Everyone who can log in may read the inventory of their scope.
            InventoryRead | AuditReadOwnDevice => true,
            // Technicians register devices in the field; operators keep the
            // inventory in the office.
            InventoryWrite | InventoryImport => {
                matches!(self, Admin | Supervisor | Technician | Operator)
            }
            InventoryDelete => matches!(self, Admin | Supervisor),
            SitesWrite => matches!(self, Admin | Supervisor),
            // Storing a new password is allowed to those who install cameras;
            // reading one back is not (DOMAIN.md §5).
            CredentialsWrite => matches!(self, Admin | Supervisor | Technician),
            CredentialsReveal => matches!(self, Admin | Supervisor),
            WarrantyAcknowledge => matches!(self, Admin | Supervisor | Operator),
            UsersManage => matches!(self, Admin),
            AuditRead => matches!(self, Admin | Supervisor),
            // Field work (DOMAIN.md §9–11): those who go on site run
            // checklists and upload their photos; operators open faults from
            // the office, supervisors assign and close them.
            ChecklistsRun => matches!(self, Admin | Supervisor | Technician),
            PhotosUpload => matches!(self, Admin | Supervisor | Technician | Operator),
            TemplatesManage => matches!(self, Admin),
            FaultsWrite => matches!(self, Admin | Supervisor | Technician | Operator),
            FaultsManage => matches!(self, Admin | Supervisor),
            SchedulesWrite => matches!(self, Admin | Supervisor),
            // Official papers (hand-over reports, label sheets) come from the office.
            ReportsGenerate => matches!(self, Admin | Supervisor | Operator | Technician),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    InventoryRead,
    InventoryWrite,
    InventoryDelete,
    InventoryImport,
    SitesWrite,
    CredentialsWrite,
    CredentialsReveal,
    WarrantyAcknowledge,
    UsersManage,
    AuditRead,
    /// The change history of a single device the user can already see.
    AuditReadOwnDevice,
    ChecklistsRun,
    PhotosUpload,
    TemplatesManage,
    FaultsWrite,
    FaultsManage,
    SchedulesWrite,
    ReportsGenerate,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_and_supervisor_reveal_credentials() {
        let can: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::CredentialsReveal))
            .collect();
        assert_eq!(can, vec![Role::Admin, Role::Supervisor]);
    }

    #[test]
    fn only_admin_manages_users() {
        for role in Role::ALL {
            assert_eq!(role.allows(Permission::UsersManage), role == Role::Admin);
        }
    }

    #[test]
    fn viewer_is_read_only() {
        use Permission::*;
        for p in [
            InventoryWrite,
            InventoryDelete,
            InventoryImport,
            SitesWrite,
            CredentialsWrite,
            CredentialsReveal,
            WarrantyAcknowledge,
            UsersManage,
            AuditRead,
            ChecklistsRun,
            PhotosUpload,
            TemplatesManage,
            FaultsWrite,
            FaultsManage,
            SchedulesWrite,
            ReportsGenerate,
        ] {
            assert!(!Role::Viewer.allows(p), "{p:?}");
        }
        assert!(Role::Viewer.allows(InventoryRead));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::parse("root"), None);
    }
}
