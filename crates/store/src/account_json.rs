//! The account a job writes, as the JSON kept in `directory_jobs.account`.

use claimd_core::{Account, Email, EmployeeId, PersonName, StoreError, Username};
use serde::{Deserialize, Serialize};

use crate::error::corrupt;

#[derive(Serialize, Deserialize)]
struct AccountRow {
    username: String,
    employee_id: u32,
    first_name: String,
    last_name: String,
    email: String,
}

pub(crate) fn to_json(account: &Account) -> String {
    serde_json::to_string(&AccountRow {
        username: account.username.to_string(),
        employee_id: account.employee_id.get(),
        first_name: account.first_name.as_str().to_owned(),
        last_name: account.last_name.as_str().to_owned(),
        email: account.email.as_str().to_owned(),
    })
    .expect("an account serialises")
}

pub(crate) fn from_json(json: &str) -> Result<Account, StoreError> {
    let row: AccountRow =
        serde_json::from_str(json).map_err(|_| corrupt("directory_jobs.account"))?;
    Ok(Account {
        username: Username::parse(&row.username).map_err(|_| corrupt("account username"))?,
        employee_id: EmployeeId::new(row.employee_id)
            .ok_or_else(|| corrupt("account employee_id"))?,
        first_name: PersonName::parse(&row.first_name)
            .map_err(|_| corrupt("account first_name"))?,
        last_name: PersonName::parse(&row.last_name).map_err(|_| corrupt("account last_name"))?,
        email: Email::parse(&row.email).map_err(|_| corrupt("account email"))?,
    })
}
