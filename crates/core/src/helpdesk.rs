//! Who a campus helper may help (DESIGN.md, "Helpdesk"): the sites of the directory groups
//! they are in, or of the district tool's client certificate. A helper's scope is the union
//! of their groups' sites; `*` is every site, and only `*` covers a person with no site on
//! the roster (nobody's school is nobody's to help but the district's). People outside the
//! scope are answered like an unknown ID, by the flows that use this.

mod actions;
mod person;
mod sign_in;

use std::{collections::BTreeSet, fmt};

pub use actions::{ReissuedCode, TemporaryPassword};
pub use person::{Acting, ClaimStanding, DirectoryView, PersonView, SEARCH_LIMIT};
pub use sign_in::{Helpdesk, HelpdeskDeps, SignIn, SignedIn};

use crate::Site;

/// The sites a group or client may act on.
#[derive(Clone, PartialEq, Eq)]
pub enum Sites {
    /// Every site, and people with none (`["*"]`).
    All,
    /// These sites only.
    Only(BTreeSet<Site>),
}

impl Sites {
    /// Sites as configured: `["*"]`, or one or more codes. Empty, or `*` beside codes, is a
    /// mistake named in words (the settings add the key).
    pub fn parse(codes: &[String]) -> Result<Self, String> {
        if codes.is_empty() {
            return Err("must list at least one site, or \"*\" for every site".into());
        }
        if codes.iter().any(|c| c.trim() == "*") {
            return if codes.len() == 1 {
                Ok(Self::All)
            } else {
                Err("\"*\" already means every site: list it alone".into())
            };
        }
        let mut sites = BTreeSet::new();
        for code in codes {
            match Site::parse(code) {
                Ok(Some(site)) => {
                    sites.insert(site);
                }
                Ok(None) => return Err("a site code is empty".into()),
                Err(why) => return Err(format!("{code:?} {why}")),
            }
        }
        Ok(Self::Only(sites))
    }

    /// Both scopes together.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (Self::All, _) | (_, Self::All) => Self::All,
            (Self::Only(mut a), Self::Only(b)) => {
                a.extend(b);
                Self::Only(a)
            }
        }
    }

    /// As stored: `*`, or the codes joined by commas (a code holds none).
    pub fn stored(&self) -> String {
        match self {
            Self::All => "*".into(),
            Self::Only(sites) => sites.iter().map(Site::as_str).collect::<Vec<_>>().join(","),
        }
    }

    /// Sites from [`Sites::stored`]; `None` when the text is not such.
    pub fn from_stored(text: &str) -> Option<Self> {
        let codes: Vec<String> = text.split(',').map(str::to_owned).collect();
        Self::parse(&codes).ok()
    }

    /// Whether a person at `site` (none: no site on the roster) is within the scope.
    pub fn covers(&self, site: Option<&Site>) -> bool {
        match (self, site) {
            (Self::All, _) => true,
            (Self::Only(sites), Some(site)) => sites.contains(site),
            (Self::Only(_), None) => false,
        }
    }
}

impl fmt::Debug for Sites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Only(sites) => f
                .debug_list()
                .entries(sites.iter().map(Site::as_str))
                .finish(),
        }
    }
}

/// One `[helpdesk] groups` entry: the members of `group` (nested membership counts) help
/// the people of `sites`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperGroup {
    /// The group's DN.
    pub group: String,
    /// Whom its members may help.
    pub sites: Sites,
}

/// The scope a helper has from the groups they are in: `member_of[i]` says whether they
/// are in `groups[i]`. `None`: in no helpdesk group, so no helper at all.
pub fn scope_of(groups: &[HelperGroup], member_of: &[bool]) -> Option<Sites> {
    groups
        .iter()
        .zip(member_of)
        .filter(|(_, member)| **member)
        .map(|(group, _)| group.sites.clone())
        .reduce(Sites::union)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(codes: &[&str]) -> Sites {
        Sites::parse(&codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn site(code: &str) -> Site {
        Site::parse(code).unwrap().unwrap()
    }

    #[test]
    fn a_scope_is_its_groups_sites_together() {
        let groups = [
            HelperGroup {
                group: "cn=techs-101".into(),
                sites: sites(&["101", "102"]),
            },
            HelperGroup {
                group: "cn=techs-202".into(),
                sites: sites(&["202"]),
            },
            HelperGroup {
                group: "cn=district".into(),
                sites: sites(&["*"]),
            },
        ];
        assert_eq!(scope_of(&groups, &[false, false, false]), None);
        let tech = scope_of(&groups, &[true, false, false]).unwrap();
        assert!(tech.covers(Some(&site("101"))));
        assert!(!tech.covers(Some(&site("202"))));
        assert!(
            !tech.covers(None),
            "a person with no site is the district's"
        );
        let both = scope_of(&groups, &[true, true, false]).unwrap();
        assert!(both.covers(Some(&site("202"))));
        let district = scope_of(&groups, &[true, false, true]).unwrap();
        assert_eq!(district, Sites::All);
        assert!(district.covers(None));
    }

    #[test]
    fn sites_are_one_star_or_codes() {
        let parse = |codes: &[&str]| {
            Sites::parse(&codes.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>())
        };
        assert!(parse(&[]).is_err());
        assert!(parse(&["*", "101"]).is_err());
        assert!(parse(&["101 Main"]).is_err());
        assert_eq!(
            format!("{:?}", parse(&["102", "101"]).unwrap()),
            r#"["101", "102"]"#
        );
        for sites in [parse(&["*"]).unwrap(), parse(&["102", "101"]).unwrap()] {
            assert_eq!(Sites::from_stored(&sites.stored()), Some(sites));
        }
        assert_eq!(Sites::from_stored(""), None);
    }
}
