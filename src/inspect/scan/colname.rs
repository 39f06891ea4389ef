//! What a column's name says: keywords in English, German, French, Spanish, Dutch (and some
//! Italian, Portuguese and Nordic) for e-mail, phone, name, address, birth date, national
//! identifiers, bank and card numbers, secrets and the like.
//!
//! Names are split into words (`firstName`, `first_name`, `First Name` → `first`, `name`),
//! folded (lower case, no accents), and matched word by word; long stems also match inside
//! compounds (`geburtsdatum`, `telefonnummer`), short ones (`ip`, `ssn`, `tel`) only as whole
//! words, so `zip` and `business` stay innocent.

use super::Kind;
use super::people::fold;

/// Splits an identifier into folded words at underscores, spaces, punctuation and camelCase
/// boundaries.
pub fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                words.push(fold(&cur));
                cur.clear();
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.push(c);
        } else {
            if !cur.is_empty() {
                words.push(fold(&cur));
                cur.clear();
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        words.push(fold(&cur));
    }
    words
}

/// Whole-word keywords, by kind, in priority order (the first kind that matches wins).
#[rustfmt::skip]
const WORDS: &[(Kind, &[&str])] = &[
    (
        Kind::Secret,
        &[
            "password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tokens", "apikey", "salt",
            "otp", "totp", "mfa", "pin", "cvv", "cvc", "cvv2", "kennwort", "passwort", "wachtwoord", "contrasena",
            "motdepasse", "senha", "sessionid", "cookie", "credential", "credentials", "hash", "hashed", "digest",
            "privatekey", "accesskey", "refreshtoken", "accesstoken", "authtoken", "jwt", "bearer", "recovery",
        ],
    ),
    (
        Kind::Email,
        &[
            "email", "mail", "courriel", "correo", "emailadres", "emailadresse", "mailadres", "mailadresse", "epost",
            "eposta", "emails",
        ],
    ),
    (Kind::Ip, &["ip", "ipaddr", "ipaddress", "ipv4", "ipv6", "remoteaddr", "clientip"]),
    (Kind::Mac, &["macaddr", "macaddress"]),
    (
        Kind::Phone,
        &[
            "phone", "telephone", "tel", "telefon", "telefoon", "telefono", "telf", "mobile", "mobil", "handy",
            "cell", "cellphone", "cellular", "fax", "portable", "movil", "gsm", "msisdn", "whatsapp", "tlf",
            "celular", "mobiel", "telemovel", "phones", "phonenumber",
        ],
    ),
    (
        Kind::Iban,
        &[
            "iban", "kontonummer", "rekeningnummer", "accountnumber", "bankaccount", "cuenta", "rekening", "konto",
        ],
    ),
    (
        Kind::Card,
        &["card", "cardnumber", "creditcard", "cc", "ccnumber", "pan", "kreditkarte", "kartennummer", "carte", "tarjeta"],
    ),
    (
        Kind::NationalId,
        &[
            "ssn", "sin", "nino", "bsn", "nir", "insee", "steuerid", "steuernummer", "taxid", "tin", "nif", "nie",
            "dni", "cpf", "curp", "rut", "pesel", "personnummer", "cpr", "hetu", "svnr", "sofinummer", "passport",
            "passportno", "reisepass", "pasaporte", "passeport", "paspoort", "ausweis", "ausweisnummer",
            "personalausweis", "idcard", "nationalid", "socialsecurity", "nss", "numsecu", "secu", "license",
            "licence", "fuhrerschein", "rijbewijs", "permis", "burgerservicenummer", "identiteitsnummer",
        ],
    ),
    (
        Kind::BirthDate,
        &[
            "dob", "birthday", "birthdate", "born", "birth", "geburtsdatum", "geburtstag", "gebdat", "geboren",
            "naissance", "datenaissance", "nacimiento", "fechanacimiento", "cumpleanos", "geboortedatum",
            "verjaardag", "nascita", "nascimento", "geburt",
        ],
    ),
    (
        Kind::PersonName,
        &[
            "firstname", "lastname", "surname", "forename", "givenname", "familyname", "fullname", "vorname",
            "nachname", "familienname", "rufname", "geburtsname", "prenom", "nomdefamille", "apellido",
            "apellidos", "voornaam", "achternaam", "tussenvoegsel", "roepnaam", "nickname", "spitzname", "surnom",
            "apodo", "cardholder", "accountholder", "kontoinhaber", "titulaire", "titular", "rekeninghouder",
            "recipient", "empfanger", "destinataire", "destinatario", "ontvanger", "patronymic", "middlename",
            "maidenname", "displayname", "contactperson", "ansprechpartner",
        ],
    ),
    (
        Kind::Username,
        &[
            "username", "login", "handle", "screenname", "benutzername", "gebruikersnaam", "loginname", "twitter",
            "instagram", "facebook", "linkedin", "github", "skype", "telegram",
        ],
    ),
    (
        Kind::Address,
        &[
            "address", "addr", "adresse", "adres", "direccion", "domicilio", "street", "strasse", "straat",
            "calle", "rue", "hausnummer", "housenumber", "huisnummer", "addressline", "streetaddress",
            "anschrift", "wohnadresse", "postadresse", "indirizzo", "morada", "endereco",
        ],
    ),
    (
        Kind::Health,
        &[
            "diagnosis", "diagnose", "diagnoses", "diagnostic", "diagnostico", "medication", "medications",
            "medikament", "medikamente", "medicament", "medicamento", "medicatie", "allergy", "allergies",
            "allergie", "allergien", "alergia", "disease", "krankheit", "maladie", "enfermedad", "ziekte",
            "symptom", "symptoms", "treatment", "behandlung", "traitement", "tratamiento", "behandeling",
            "prescription", "rezept", "ordonnance", "receta", "bloodtype", "blutgruppe", "disability",
            "behinderung", "icd", "icd10", "therapy", "therapie", "health", "gesundheit", "sante", "salud",
            "gezondheid", "pregnancy", "schwangerschaft", "anamnesis", "anamnese",
        ],
    ),
    (
        Kind::FreeText,
        &[
            "note", "notes", "comment", "comments", "remark", "remarks", "memo", "message", "messages", "msg",
            "body", "bio", "biography", "about", "feedback", "review", "notiz", "notizen", "bemerkung",
            "bemerkungen", "kommentar", "kommentare", "nachricht", "anmerkung", "anmerkungen", "commentaire",
            "commentaires", "remarque", "remarques", "nota", "notas", "comentario", "comentarios", "mensaje",
            "observaciones", "observacion", "opmerking", "opmerkingen", "notitie", "notities", "bericht",
            "toelichting", "freetext", "complaint", "beschwerde", "reclamation", "queja", "klacht", "transcript",
            "chat", "conversation", "signature", "dedication", "widmung",
        ],
    ),
    (
        Kind::Quasi,
        &[
            "city", "town", "stadt", "ort", "wohnort", "ville", "ciudad", "localidad", "stad", "plaats",
            "woonplaats", "postcode", "postalcode", "zip", "zipcode", "plz", "postleitzahl", "codepostal",
            "codigopostal", "gender", "sex", "geschlecht", "sexe", "sexo", "geslacht", "nationality",
            "nationalitat", "nationalite", "nacionalidad", "nationaliteit", "religion", "religie", "konfession",
            "ethnicity", "ethnic", "salary", "income", "gehalt", "einkommen", "salaire", "revenu", "salario",
            "sueldo", "salaris", "inkomen", "marital", "familienstand", "employer", "arbeitgeber", "werkgever",
            "employeur", "occupation", "beruf", "profession", "beroep", "latitude", "longitude", "lat", "lng",
            "geolocation", "coordinates", "geo", "kennzeichen", "licenseplate", "vin", "age", "edad", "leeftijd",
            "useragent",
        ],
    ),
];

/// Stems that also match inside a compound word or a name written without separators.
#[rustfmt::skip]
const STEMS: &[(Kind, &[&str])] = &[
    (
        Kind::Secret,
        &[
            "password", "passwort", "kennwort", "wachtwoord", "contrasena", "motdepasse", "passphrase", "secret",
            "apikey", "privatekey", "accesskey", "credential", "token",
        ],
    ),
    (Kind::Email, &["email", "courriel", "correoelectronico", "mailadres", "mailaddress"]),
    (Kind::Ip, &["ipaddress", "ipaddr"]),
    (Kind::Mac, &["macaddress", "macaddr"]),
    (
        Kind::Phone,
        &[
            "phone", "telefon", "telephon", "telefoon", "handynummer", "mobilnummer", "mobilenumber",
            "mobielnummer", "rufnummer", "faxnummer",
        ],
    ),
    (
        Kind::Iban,
        &["iban", "kontonummer", "rekeningnummer", "accountnumber", "bankaccount", "numerodecompte", "cuentabancaria"],
    ),
    (Kind::Card, &["creditcard", "cardnumber", "kreditkarte", "kartennummer", "tarjeta"]),
    (
        Kind::NationalId,
        &[
            "socialsecurity", "steuerid", "steueridentifikation", "steuernummer", "sozialversicherung",
            "burgerservicenummer", "securitesociale", "passport", "reisepass", "pasaporte", "paspoort",
            "passeport", "personalausweis", "ausweisnummer", "fuhrerschein", "driverslicense", "driverlicense",
            "driverslicence", "driverlicence", "nationalid", "taxid", "taxnumber", "identitynumber",
            "identitycard", "idnumber", "seguridadsocial", "sofinummer",
        ],
    ),
    (Kind::BirthDate, &["birth", "geburt", "naissance", "nacimiento", "geboorte", "nascita", "nascimento"]),
    (
        Kind::PersonName,
        &[
            "firstname", "lastname", "surname", "vorname", "nachname", "voornaam", "achternaam", "apellido",
            "prenom", "fullname", "givenname", "familyname", "kontoinhaber", "cardholder", "accountholder",
            "maidenname", "middlename",
        ],
    ),
    (Kind::Username, &["username", "benutzername", "gebruikersnaam", "screenname", "loginname"]),
    (Kind::Address, &["address", "adress", "strasse", "straat", "street", "direccion", "anschrift", "hausnummer", "huisnummer"]),
    (Kind::Health, &["diagnos", "medikament", "medication", "allergi", "krankheit", "prescription"]),
    (
        Kind::Quasi,
        &["postalcode", "zipcode", "postcode", "postleitzahl", "codepostal", "codigopostal", "useragent", "maritalstatus"],
    ),
];

/// Words naming a person's name when they qualify `name`: `first_name`, `customer name`.
#[rustfmt::skip]
const NAME_WORDS: &[&str] = &["name", "naam", "nom", "nombre", "nome", "navn", "namn", "names"];
#[rustfmt::skip]
const NAME_QUALIFIERS: &[&str] = &[
    "first", "last", "given", "family", "full", "middle", "maiden", "nick", "sur", "customer", "client",
    "patient", "contact", "person", "recipient", "holder", "cardholder", "account", "owner", "employee",
    "member", "sender", "shipping", "billing", "guest", "passenger", "driver", "guardian", "parent", "spouse",
    "emergency", "display", "legal", "real", "birth", "mother", "father", "signer", "beneficiary", "tenant",
    "author", "student", "teacher", "doctor", "nurse", "kunde", "kunden", "vor", "nach", "familien",
    "famille", "de", "pila", "voor", "achter", "delivery", "invoice", "buyer", "seller", "applicant",
    "candidate", "visitor", "subscriber", "donor", "caller", "requester", "reporter", "assignee",
];

/// Table names whose `name` column is a person's name.
#[rustfmt::skip]
const PERSON_TABLES: &[&str] = &[
    "user", "users", "customer", "customers", "client", "clients", "person", "persons", "people", "patient",
    "patients", "employee", "employees", "staff", "member", "members", "contact", "contacts", "author",
    "authors", "student", "students", "teacher", "teachers", "guest", "guests", "passenger", "passengers",
    "driver", "drivers", "tenant", "tenants", "owner", "owners", "applicant", "applicants", "candidate",
    "candidates", "subscriber", "subscribers", "kunde", "kunden", "mitarbeiter", "personen", "patienten",
    "benutzer", "nutzer", "klant", "klanten", "medewerker", "medewerkers", "gebruiker", "gebruikers", "leden",
    "utilisateur", "utilisateurs", "employe", "employes", "salarie", "salaries", "adherent", "adherents",
    "cliente", "usuario", "usuarios", "empleado", "empleados", "paciente", "pacientes", "socio", "socios",
    "persona", "personas", "profile", "profiles", "recipients", "beneficiaries", "donors", "volunteers",
    "players", "accounts", "account", "doctors", "physicians", "nurses", "visitors", "attendees",
    "participants", "residents", "citizens", "voters",
];

/// Words that make a match meaningless: `card_type`, `email_verified`, `phone_country_code`,
/// `token_count`: facts about the thing, not the thing.
#[rustfmt::skip]
const NEUTRAL: &[&str] = &[
    "type", "types", "kind", "brand", "network", "verified", "confirmed", "valid", "validated", "count",
    "counts", "status", "enabled", "disabled", "opt", "optin", "optout", "consent", "allowed", "required",
    "format", "length", "expires", "expiry", "expiration", "expired", "changed", "updated", "created", "sent",
    "at", "on", "date", "time", "ts", "flag", "is", "has", "template", "provider", "domain",
    "policy", "version", "algorithm", "algo", "scheme", "rounds", "cost", "attempts", "reset", "country",
    "prefix", "lang", "language", "locale", "preference", "preferences", "label", "visible", "public",
    "settings", "config", "uri", "url", "link", "bounce", "bounced", "unsubscribed",
];

/// What the column's name says, with the keyword that said it.
fn hint_words(table: &str, column: &str) -> Option<(Kind, String)> {
    let words = split_words(column);
    if words.is_empty() {
        return None;
    }
    let joined: String = words.concat();
    let neutral = words.iter().any(|w| NEUTRAL.contains(&w.as_str()));
    let birth_stems = STEMS.iter().find(|(k, _)| *k == Kind::BirthDate).map_or(&[][..], |(_, s)| *s);
    let birth_date = words.iter().any(|w| birth_stems.iter().any(|s| w.contains(s)));
    // A neutral word turns the name into a fact about the thing (`email_verified`), except for
    // dates of birth (`birth_date`) and counts of nothing personal.
    if neutral && !birth_date {
        return None;
    }
    let is_name_word = |w: &String| NAME_WORDS.contains(&w.as_str());
    for (kind, list) in WORDS {
        if let Some(w) = words.iter().find(|w| list.contains(&w.as_str())) {
            return Some((*kind, w.clone()));
        }
        if *kind == Kind::PersonName && words.iter().any(is_name_word) {
            let qualified = words.iter().any(|w| NAME_QUALIFIERS.contains(&w.as_str()));
            let table_words = split_words(table);
            let person_table = table_words.last().is_some_and(|t| PERSON_TABLES.contains(&t.as_str()));
            if qualified || (words.len() == 1 && person_table) {
                return Some((Kind::PersonName, words.join("_")));
            }
        }
        if let Some((_, stems)) = STEMS.iter().find(|(k, _)| k == kind)
            && let Some(s) = stems.iter().find(|s| joined.contains(*s))
        {
            return Some((*kind, (*s).to_string()));
        }
    }
    None
}

/// [`hint_words`] without the rule for identifiers: `card_id`, `email_id` and `user_id` name
/// keys to other rows, not the thing itself; national identifiers (`tax_id`) are the exception.
pub fn hint(table: &str, column: &str) -> Option<(Kind, String)> {
    let found = hint_words(table, column)?;
    let words = split_words(column);
    let key = words.last().is_some_and(|w| matches!(w.as_str(), "id" | "ids" | "fk" | "uuid" | "key" | "ref"));
    (!key || found.0 == Kind::NationalId).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(table: &str, col: &str) -> Option<Kind> {
        hint(table, col).map(|(k, _)| k)
    }

    #[test]
    fn splits_identifiers() {
        assert_eq!(split_words("firstName"), ["first", "name"]);
        assert_eq!(split_words("Customer Email"), ["customer", "email"]);
        assert_eq!(split_words("E_Mail-Adresse"), ["e", "mail", "adresse"]);
        assert_eq!(split_words("Straße"), ["strasse"]);
        assert_eq!(split_words("HTTPStatus"), ["httpstatus"]);
    }

    #[test]
    fn keywords_in_five_languages() {
        let cases = [
            ("email", Kind::Email),
            ("E-Mail-Adresse", Kind::Email),
            ("courriel", Kind::Email),
            ("correo_electronico", Kind::Email),
            ("emailadres", Kind::Email),
            ("phone", Kind::Phone),
            ("Telefonnummer", Kind::Phone),
            ("telephone_portable", Kind::Phone),
            ("telefono_movil", Kind::Phone),
            ("telefoonnummer", Kind::Phone),
            ("first_name", Kind::PersonName),
            ("Nachname", Kind::PersonName),
            ("prenom", Kind::PersonName),
            ("nom_de_famille", Kind::PersonName),
            ("apellidos", Kind::PersonName),
            ("achternaam", Kind::PersonName),
            ("emergency_contact_name", Kind::PersonName),
            ("street_address", Kind::Address),
            ("Strasse", Kind::Address),
            ("adresse_postale", Kind::Address),
            ("direccion", Kind::Address),
            ("straatnaam", Kind::Address),
            ("birth_date", Kind::BirthDate),
            ("dob", Kind::BirthDate),
            ("Geburtsdatum", Kind::BirthDate),
            ("date_de_naissance", Kind::BirthDate),
            ("fecha_nacimiento", Kind::BirthDate),
            ("geboortedatum", Kind::BirthDate),
            ("ssn", Kind::NationalId),
            ("steuer_id", Kind::NationalId),
            ("numero_securite_sociale", Kind::NationalId),
            ("bsn", Kind::NationalId),
            ("passport_no", Kind::NationalId),
            ("drivers_license", Kind::NationalId),
            ("iban", Kind::Iban),
            ("Kontonummer", Kind::Iban),
            ("card_number", Kind::Card),
            ("password_hash", Kind::Secret),
            ("api_token", Kind::Secret),
            ("Passwort", Kind::Secret),
            ("mot_de_passe", Kind::Secret),
            ("contrasena", Kind::Secret),
            ("wachtwoord", Kind::Secret),
            ("ip_address", Kind::Ip),
            ("last_login_ip", Kind::Ip),
            ("username", Kind::Username),
            ("notes", Kind::FreeText),
            ("Free Text Memo", Kind::FreeText),
            ("bemerkung", Kind::FreeText),
            ("opmerkingen", Kind::FreeText),
            ("diagnosis", Kind::Health),
            ("postal_code", Kind::Quasi),
            ("city", Kind::Quasi),
            ("tax_id", Kind::NationalId),
            ("user_agent", Kind::Quasi),
        ];
        for (col, want) in cases {
            assert_eq!(kind("public.t", col), Some(want), "{col}");
        }
    }

    #[test]
    fn innocent_names() {
        for col in [
            "id",
            "zip_id",
            "business",
            "description",
            "product_name",
            "file_name",
            "company_name",
            "status",
            "email_verified",
            "card_type",
            "phone_country_code",
            "token_count",
            "created_at",
            "shipping",
            "tip",
            "country_code",
            "label",
            "name",
            "card_id",
            "email_id",
            "session_id",
            "user_id",
            "marital_status",
        ] {
            assert_eq!(kind("public.products", col), None, "{col}");
        }
        assert_eq!(kind("public.customers", "name"), Some(Kind::PersonName));
        assert_eq!(kind("public.Kunden", "name"), Some(Kind::PersonName));
        assert_eq!(kind("public.countries", "name"), None);
    }
}
