-- 3: the register of entitlements (issue 12): notices and filings (newest revision of each), the claims passed
-- on and their statements' days. A person is an HMAC-SHA256 of the ID under key `key_id`: no ID number, no name.
CREATE TABLE register_arrangements (
    key INTEGER PRIMARY KEY, filing INTEGER NOT NULL, insured TEXT NOT NULL, residence TEXT NOT NULL,
    serial TEXT NOT NULL, revision INTEGER NOT NULL, person TEXT NOT NULL, key_id TEXT NOT NULL,
    since_day TEXT NOT NULL, until_day TEXT, ended INTEGER NOT NULL DEFAULT 0, service_types TEXT NOT NULL,
    care_facility TEXT, device_facility TEXT, as_of TEXT NOT NULL, entitlement_serial TEXT NOT NULL,
    UNIQUE (filing, insured, residence, serial)
);
CREATE INDEX register_arrangements_person ON register_arrangements(person);
CREATE TABLE register_claims (
    key INTEGER PRIMARY KEY, insured TEXT NOT NULL, residence TEXT NOT NULL, period TEXT NOT NULL,
    serial TEXT NOT NULL, revision INTEGER NOT NULL, claimed TEXT NOT NULL, nil INTEGER NOT NULL DEFAULT 0,
    UNIQUE (insured, residence, period, serial)
);
CREATE TABLE register_billings (
    key INTEGER PRIMARY KEY, insured TEXT NOT NULL, residence TEXT NOT NULL, claim_period TEXT NOT NULL,
    claim_serial TEXT NOT NULL, statement_serial TEXT NOT NULL, person TEXT NOT NULL, key_id TEXT NOT NULL,
    facility TEXT NOT NULL, service_type TEXT NOT NULL, month TEXT NOT NULL, start_day TEXT NOT NULL,
    end_day TEXT NOT NULL, days INTEGER NOT NULL, late INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX register_billings_person ON register_billings(person);
CREATE INDEX register_billings_claim ON register_billings(insured, residence, claim_period, claim_serial);
