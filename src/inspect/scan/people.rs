//! Person names: the embedded first- and last-name dictionaries, and the user's own list of
//! customer or patient names (`--names`), both matched case- and accent-insensitively.
//!
//! Matching works on a *folded* form of the text: lower case, accents and other diacritics
//! removed (`Jürgen` → `jurgen`, `Łukasz` → `lukasz`, `Weiß` → `weiss`). Folding writes into a
//! reusable buffer, so matching allocates nothing per value.

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::error::{Error, Result};

/// The transforms' pinned word lists (private to `transform`); only the name lists are read
/// here. Compiled a second time rather than made public, so `transform` keeps its interface.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../../transform/words.rs"]
mod words;

/// Appends the folded form of `c` to `out`.
pub fn fold_char(c: char, out: &mut String) {
    let base =
        match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă'
            | 'Ą' => 'a',
            'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => 'c',
            'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę'
            | 'Ě' => 'e',
            'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => 'g',
            'ĥ' | 'ħ' | 'Ĥ' | 'Ħ' => 'h',
            'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į'
            | 'İ' => 'i',
            'ĵ' | 'Ĵ' => 'j',
            'ķ' | 'Ķ' => 'k',
            'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => 'l',
            'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ'
            | 'Ő' => 'o',
            'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => 'r',
            'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => 's',
            'ţ' | 'ť' | 'ŧ' | 'ț' | 'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => 't',
            'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ'
            | 'Ů' | 'Ű' | 'Ų' => 'u',
            'ŵ' | 'Ŵ' => 'w',
            'ý' | 'ÿ' | 'ŷ' | 'Ý' | 'Ÿ' | 'Ŷ' => 'y',
            'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => 'z',
            'ß' => return out.push_str("ss"),
            'æ' | 'Æ' => return out.push_str("ae"),
            'œ' | 'Œ' => return out.push_str("oe"),
            'þ' | 'Þ' => return out.push_str("th"),
            // Combining diacritical marks (decomposed accents) disappear.
            '\u{300}'..='\u{36f}' => return,
            // Typographic apostrophes become the ASCII one.
            '\u{2019}' | '\u{2018}' | '`' | '´' => '\'',
            c if c.is_ascii() => c,
            c => {
                out.extend(c.to_lowercase());
                return;
            }
        };
    out.push(base);
}

/// Folds a whole string (appended to `out`).
pub fn fold_into(s: &str, out: &mut String) {
    for c in s.chars() {
        fold_char(c, out);
    }
}

pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// First names beyond the transforms' English, French and German lists: Spanish, Dutch,
/// Italian, Portuguese, Polish, Czech, Turkish, Nordic and a few others common in European
/// customer data.
#[rustfmt::skip]
const FIRST_MORE: &[&str] = &[
    // Spanish, Portuguese
    "Alejandro", "Alejandra", "Álvaro", "Andrés", "Ángel", "Antonio", "Beatriz", "Carlos", "Carmen",
    "Cristina", "Diego", "Dolores", "Eduardo", "Elena", "Enrique", "Esperanza", "Fernando", "Francisco",
    "Gabriel", "Guillermo", "Ignacio", "Isabel", "Javier", "Jesús", "Joaquín", "Jorge", "José", "Josefa",
    "Juan", "Juana", "Laura", "Lucía", "Luis", "Manuel", "Marcos", "María", "Mercedes", "Miguel",
    "Montserrat", "Nuria", "Pablo", "Paula", "Pedro", "Pilar", "Rafael", "Ramón", "Raquel", "Ricardo",
    "Rocío", "Rosa", "Santiago", "Sergio", "Sofía", "Teresa", "Valentina", "Vicente", "Ximena", "João",
    "Gonçalo", "Rodrigo", "Tiago", "Inês", "Beatriz", "Mariana", "Catarina", "Rui", "Duarte",
    // Dutch, Flemish
    "Anouk", "Bram", "Daan", "Femke", "Fleur", "Floor", "Jeroen", "Joost", "Kees", "Lieke", "Lotte",
    "Maarten", "Marloes", "Mees", "Niels", "Pieter", "Roos", "Ruben", "Sander", "Sanne", "Sem", "Sjoerd",
    "Thijs", "Tim", "Wouter", "Willem", "Annelies", "Hendrik", "Jelle", "Joris", "Koen", "Lars", "Luuk",
    "Milan", "Noor", "Sven", "Tess", "Tijn", "Bart", "Geert", "Griet", "Hanneke", "Ingrid", "Marieke",
    // Italian
    "Alessandro", "Alessandra", "Andrea", "Antonella", "Chiara", "Davide", "Federica", "Federico",
    "Francesca", "Gianluca", "Giorgio", "Giovanni", "Giulia", "Giuseppe", "Lorenzo", "Luca", "Luigi",
    "Marco", "Matteo", "Paolo", "Riccardo", "Roberto", "Salvatore", "Silvia", "Simone", "Stefano",
    "Valentina", "Vincenzo",
    // Polish, Czech, Slovak
    "Agnieszka", "Aleksandra", "Bartosz", "Dariusz", "Ewa", "Grzegorz", "Jakub", "Kamil", "Katarzyna",
    "Krzysztof", "Łukasz", "Magdalena", "Małgorzata", "Marta", "Mateusz", "Michał", "Paweł", "Piotr",
    "Tomasz", "Wojciech", "Zofia", "Jiří", "Jana", "Petr", "Tomáš", "Lucie", "Lenka", "Ondřej",
    "Veronika", "Zuzana", "Martina", "Kateřina",
    // Turkish, Arabic, Persian
    "Ahmet", "Ali", "Ayşe", "Burak", "Can", "Elif", "Emine", "Emre", "Fatma", "Hasan", "Hatice",
    "Hüseyin", "İbrahim", "Mehmet", "Merve", "Murat", "Mustafa", "Ömer", "Yusuf", "Zeynep", "Ahmed",
    "Fatima", "Hassan", "Khalid", "Mohammed", "Muhammad", "Omar", "Leila", "Yasmin", "Reza",
    // Nordic
    "Anders", "Astrid", "Birgit", "Björn", "Erik", "Freja", "Ingrid", "Henrik", "Kasper", "Kristian",
    "Lars", "Magnus", "Mette", "Nils", "Ole", "Sigrid", "Søren", "Sven", "Tove", "Ulf",
    // Other
    "Aiko", "Ben", "Chen", "Hiroshi", "Ivan", "Kenji", "Olga", "Priya", "Raj", "Sakura", "Wei", "Yuki",
];

/// Last names beyond the transforms' English, French and German lists.
#[rustfmt::skip]
const LAST_MORE: &[&str] = &[
    // Spanish, Portuguese
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
    "Díaz", "Hernández", "Álvarez", "Jiménez", "Ruiz", "Moreno", "Muñoz", "Romero", "Alonso", "Gutiérrez",
    "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
    "Morales", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Iglesias", "Medina",
    "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Almeida", "Carvalho",
    "Sousa", "Ribeiro",
    // Dutch, Flemish
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
    "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen",
    "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden",
    "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek",
    "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet",
    "Peeters", "Maes", "Claes", "Goossens", "Wouters", "De Smet",
    // Italian
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
    "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
    // Polish, Czech
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
    "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Novák", "Svoboda", "Novotný", "Dvořák", "Černý",
    "Procházka", "Kučera", "Veselý",
    // Turkish
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir",
    "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin",
    // Nordic
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nielsen", "Kristensen", "Jensen",
    "Karlsson", "Andersson", "Johansson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Korhonen", "Virtanen", "Mäkinen", "Nieminen",
    // Other
    "O'Brien", "O'Connor", "Murphy", "Kelly", "Walsh", "Byrne", "Ryan", "Tanaka", "Suzuki", "Sato",
    "Takahashi", "Watanabe", "Kim", "Lee", "Park", "Wang", "Li", "Zhang", "Liu", "Chen", "Nguyen",
    "Singh", "Kumar", "Patel", "Ivanov", "Petrov", "Smirnov",
];

/// First names that are also everyday words: a capitalised one inside a sentence is weak
/// evidence of a person.
#[rustfmt::skip]
const COMMON_WORDS: &[&str] = &[
    "will", "may", "june", "april", "august", "mark", "rose", "grace", "hope", "joy", "faith", "bill",
    "art", "page", "frank", "max", "sunny", "summer", "dawn", "paris", "florence", "georgia", "virginia",
    "jordan", "lane", "dale", "glen", "cliff", "forest", "river", "sky", "star", "angel", "holly", "ivy",
    "daisy", "lily", "iris", "violet", "amber", "ruby", "pearl", "crystal", "jade", "olive", "hazel",
    "basil", "sage", "clay", "stone", "brook", "guy", "pat", "sue", "don", "can", "ali", "li", "lee",
    "kim", "park", "long", "white", "green", "young", "king", "hill", "wood", "black", "brown", "gray",
    "grey", "rich", "sterling", "chance", "price", "cash", "gil", "sol", "luz", "paz", "mar", "bos",
    "vos", "kok", "smit", "bruno", "costa", "santos", "silva", "ramos", "mercedes", "carmen", "victoria",
    "blanc", "blanco", "gallo", "greco", "romano", "marino", "moreno", "rubio",
    "delgado", "castro", "medina", "ben", "tim", "sem", "floor", "roos", "bart",
];

/// Words of company and organisation names: `Stark Industries` is not a person.
#[rustfmt::skip]
const ORG_WORDS: &[&str] = &[
    "industries", "enterprises", "corp", "corporation", "inc", "ltd", "limited", "gmbh", "ag", "kg", "sa",
    "sas", "sarl", "bv", "nv", "llc", "plc", "co", "company", "group", "holding", "holdings", "bank",
    "solutions", "systems", "technologies", "technology", "labs", "partners", "services", "consulting",
    "international", "global", "studio", "studios", "foundation", "verein", "stiftung", "hospital",
    "clinic", "klinik", "university", "universitat", "school", "shop", "store", "markt", "hotel",
];

/// The folded name dictionaries.
pub struct Dictionaries {
    first: HashSet<String>,
    last: HashSet<String>,
    common: HashSet<&'static str>,
    org: HashSet<&'static str>,
}

pub static DICTIONARIES: LazyLock<Dictionaries> = LazyLock::new(|| {
    // A multi-word family name (`de Vries`, `van den Berg`) is also known by its last word.
    let set = |lists: &[&[&str]]| -> HashSet<String> {
        let mut set = HashSet::new();
        for n in lists.iter().flat_map(|l| l.iter()).map(|n| fold(n)) {
            if let Some((_, last)) = n.rsplit_once(' ')
                && last.chars().count() >= 3
            {
                set.insert(last.to_string());
            }
            if n.chars().count() >= 2 {
                set.insert(n);
            }
        }
        set
    };
    Dictionaries {
        first: set(&[words::FIRST_EN, words::FIRST_FR, words::FIRST_DE, FIRST_MORE]),
        last: set(&[words::LAST_EN, words::LAST_FR, words::LAST_DE, LAST_MORE]),
        common: COMMON_WORDS.iter().copied().collect(),
        org: ORG_WORDS.iter().copied().collect(),
    }
});

/// Particles of family names: `de`, `van der`, `von`, `di`, ...
fn particle(folded: &str) -> bool {
    matches!(
        folded,
        "de" | "da"
            | "di"
            | "do"
            | "dos"
            | "das"
            | "del"
            | "della"
            | "der"
            | "den"
            | "van"
            | "von"
            | "la"
            | "le"
            | "du"
            | "des"
            | "ten"
            | "ter"
            | "y"
            | "e"
            | "bin"
            | "ibn"
            | "al"
            | "el"
            | "mac"
            | "st"
            | "zu"
            | "los"
            | "las"
            | "het"
            | "op"
            | "in"
            | "t"
    )
}

/// Words before a name in running text: titles, greetings, signatures.
fn title(folded: &str) -> bool {
    matches!(
        folded,
        "mr" | "mrs"
            | "ms"
            | "miss"
            | "dr"
            | "prof"
            | "herr"
            | "frau"
            | "m"
            | "mme"
            | "mlle"
            | "monsieur"
            | "madame"
            | "sr"
            | "sra"
            | "srta"
            | "senor"
            | "senora"
            | "don"
            | "dona"
            | "dhr"
            | "mevr"
            | "mevrouw"
            | "meneer"
            | "dear"
            | "liebe"
            | "lieber"
            | "hallo"
            | "hello"
            | "hi"
            | "bonjour"
            | "cher"
            | "chere"
            | "hola"
            | "querida"
            | "querido"
            | "beste"
            | "geachte"
            | "signor"
            | "signora"
            | "said"
            | "sagte"
            | "patient"
            | "patientin"
            | "client"
            | "cliente"
            | "klant"
            | "kunde"
            | "kundin"
            | "customer"
    )
}

/// One word of a text: its byte range and what precedes it.
struct Word {
    start: usize,
    end: usize,
    /// The first letter is upper case.
    capital: bool,
    /// It starts the text or a sentence (after `.`, `!`, `?`, `:` or a line break).
    sentence_start: bool,
}

/// Splits text into words (letters, with inner apostrophes and hyphens), calling `f` for each
/// until it returns false.
fn words(text: &str, mut f: impl FnMut(&Word) -> bool) {
    let mut boundary = true;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c.is_alphabetic() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = iter.peek() {
                if d.is_alphabetic() || d == '\u{300}' || ('\u{301}'..='\u{36f}').contains(&d) {
                    end = j + d.len_utf8();
                    iter.next();
                } else if (d == '-' || d == '\'' || d == '’')
                    && text[j + d.len_utf8()..].starts_with(char::is_alphabetic)
                {
                    // `Jean-Luc`, `O'Brien`, but `Jürgen's` stops at the apostrophe below.
                    let rest = &text[j + d.len_utf8()..];
                    if d != '-' && (rest.starts_with('s') && !rest[1..].starts_with(char::is_alphabetic)) {
                        break;
                    }
                    end = j + d.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            let word = Word { start: i, end, capital: c.is_uppercase(), sentence_start: boundary };
            if !f(&word) {
                return;
            }
            boundary = false;
        } else if matches!(c, '.' | '!' | '?' | '\n' | ':' | ';' | '"' | '\t') {
            boundary = !(c == '.' && iter.peek().is_some_and(|&(_, d)| d.is_alphanumeric()));
        } else if c.is_numeric() {
            boundary = false;
        }
    }
}

/// Reusable buffers for name matching.
#[derive(Default)]
pub struct NameScratch {
    folded: String,
}

impl Dictionaries {
    fn lookup(&self, word: &str, scratch: &mut NameScratch) -> (bool, bool, bool) {
        scratch.folded.clear();
        fold_into(word, &mut scratch.folded);
        let w = scratch.folded.as_str();
        let (mut first, mut last) = (self.first.contains(w), self.last.contains(w));
        if !(first || last) && w.contains('-') {
            // `Jean-Luc`, `Müller-Lüdenscheidt`: any known part.
            first = w.split('-').any(|p| self.first.contains(p));
            last = w.split('-').any(|p| self.last.contains(p));
        }
        (first, last, self.common.contains(w))
    }

    /// Whether the whole value looks like a person's name: one to five words, letters only,
    /// at least one capitalised, at least one of them a known first or last name.
    pub fn is_name(&self, value: &str, scratch: &mut NameScratch) -> bool {
        let value = value.trim();
        if value.is_empty()
            || value.len() > 80
            || value.chars().any(|c| c.is_numeric() || "@/:=<>{}[]#_|\\".contains(c))
        {
            return false;
        }
        let mut count = 0;
        let mut known = false;
        let mut capital = false;
        let mut all_common = true;
        let mut ok = true;
        words(value, |w| {
            count += 1;
            let word = &value[w.start..w.end];
            capital |= w.capital;
            let (first, last, common) = self.lookup(word, scratch);
            if self.org.contains(scratch.folded.as_str()) {
                ok = false;
            } else if first || last {
                known = true;
                all_common &= common;
            } else if !particle(&scratch.folded) && !w.capital && count > 1 {
                // A lower-case word that is no particle: a phrase, not a name.
                ok = false;
            }
            count <= 5 && ok
        });
        // Other characters than the words' (like `,` in `Müller, Anna` or `.` in `J. Smith`).
        let punct = value.chars().filter(|c| !(c.is_alphabetic() || c.is_whitespace() || "-'’.,".contains(*c))).count();
        ok && known && capital && (1..=5).contains(&count) && punct == 0 && !(all_common && count == 1)
    }

    /// Whether running text mentions a person by name: a capitalised known first name inside a
    /// sentence or after a title or greeting, or followed by another capitalised word.
    pub fn mentions_name(&self, text: &str, scratch: &mut NameScratch) -> bool {
        let mut found = false;
        let mut prev_title = false;
        let mut pending_first: Option<bool> = None;
        words(text, |w| {
            let word = &text[w.start..w.end];
            if let Some(strong) = pending_first.take() {
                // The word after a capitalised first name, unless it makes a company of it
                // (`Wayne Enterprises`).
                let org = w.capital && {
                    scratch.folded.clear();
                    fold_into(word, &mut scratch.folded);
                    self.org.contains(scratch.folded.as_str())
                };
                if (w.capital || strong) && !org {
                    found = true;
                    return false;
                }
            }
            if !w.capital {
                prev_title = false;
                return true;
            }
            let (first, last, common) = self.lookup(word, scratch);
            let is_title = title(&scratch.folded);
            if (first || last) && prev_title {
                found = true;
                return false;
            }
            let possessive = text[w.end..].starts_with("'s") || text[w.end..].starts_with("’s");
            if first && !common {
                if !w.sentence_start || possessive {
                    found = true;
                    return false;
                }
                pending_first = Some(false);
            } else if first {
                pending_first = Some(false);
            }
            prev_title = is_title;
            true
        });
        if pending_first.is_some() && !found {
            // A capitalised first name ending the text: a signature (`-- María`).
            let tail = text.trim_end().trim_end_matches(['.', '!', ',']);
            found = tail.rsplit(char::is_whitespace).next().is_some_and(|last| {
                let (first, _, common) = self.lookup(last, scratch);
                first && !common && text.trim_end().len() > last.len()
            });
        }
        found
    }
}

/// The user's own names (`--names`): customers or patients, one per line.
pub struct NameList {
    matcher: AhoCorasick,
    pub count: usize,
}

/// Names shorter than this many characters (folded) are ignored: they would match everywhere.
const MIN_LISTED: usize = 4;

impl NameList {
    /// Reads a names file (UTF-8, one name per line; empty lines and `#` comments skipped).
    pub fn load(path: &std::path::Path) -> Result<NameList> {
        let text = std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let text = String::from_utf8_lossy(&text);
        Self::from_lines(text.lines())
    }

    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Result<NameList> {
        let mut names: Vec<String> = Vec::new();
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut folded = String::new();
            normalize_into(line, &mut folded);
            if folded.chars().count() >= MIN_LISTED {
                names.push(folded);
            }
        }
        names.sort();
        names.dedup();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&names)
            .map_err(|e| Error::Usage(format!("--names: {e}")))?;
        Ok(NameList { matcher, count: names.len() })
    }

    /// Whether `text` contains a listed name as whole words; `whole` when the name is (nearly)
    /// the entire value.
    pub fn find(&self, text: &str, scratch: &mut NameScratch) -> Option<bool> {
        if self.count == 0 {
            return None;
        }
        scratch.folded.clear();
        normalize_into(text, &mut scratch.folded);
        let hay = scratch.folded.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
        for m in self.matcher.find_iter(hay) {
            let before = m.start() == 0 || !word(hay[m.start() - 1]);
            let after = m.end() == hay.len() || !word(hay[m.end()]);
            if before && after {
                let rest = hay.len() - m.len();
                return Some(rest <= 2);
            }
        }
        None
    }
}

/// Folds and collapses runs of whitespace and punctuation between words to one space, so
/// `Müller,  Anna` and `muller anna` compare equal.
fn normalize_into(text: &str, out: &mut String) {
    let mut space = true;
    for c in text.chars() {
        if c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c) {
            fold_char(c, out);
            space = false;
        } else if c == '\'' || c == '’' || c == '-' {
            if !space {
                out.push(if c == '-' { '-' } else { '\'' });
            }
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("Jürgen Weiß"), "jurgen weiss");
        assert_eq!(fold("ŁUKASZ Øster Æbelø"), "lukasz oster aebelo");
        assert_eq!(fold("Zoe\u{308}"), "zoe");
        assert_eq!(fold("Yılmaz İbrahim"), "yilmaz ibrahim");
        assert_eq!(fold("Иван"), "иван");
    }

    #[test]
    fn whole_names() {
        let d = &*DICTIONARIES;
        let mut s = NameScratch::default();
        for name in [
            "Anna",
            "Jürgen",
            "Müller",
            "Zoë Öztürk",
            "Łukasz Nowak",
            "de Vries",
            "Maria de los Santos",
            "O'Brien",
            "Jean-Luc Picard",
            "SMITH",
            "Müller, Anna",
            "María García",
        ] {
            assert!(d.is_name(name, &mut s), "{name}");
        }
        for not in [
            "",
            "new",
            "paid",
            "Deutschland",
            "Wireless mouse L",
            "mobile app",
            "anna@example.org",
            "Anna 42",
            "Will",
            "Stark Industries",
            "the quick brown fox",
        ] {
            assert!(!d.is_name(not, &mut s), "{not}");
        }
    }

    #[test]
    fn names_in_text() {
        let d = &*DICTIONARIES;
        let mut s = NameScratch::default();
        for text in [
            "Called on 2024-01-03:\n\t\"Please update my address\", said Jürgen Schmidt.",
            "Order for Anna Müller\tref 12",
            "Alles Gute, Anna!\tLiebe Grüße",
            "Refund requested.\nThey said the parcel never arrived.\n-- María",
            "Dear Mr Smith, thank you",
            "Jürgen's iPhone",
        ] {
            assert!(d.mentions_name(text, &mut s), "{text}");
        }
        for text in [
            "Prefers contact by e-mail.",
            "VIP; birthday 12.05. \\ sends gifts to Hauptstraße",
            "Will ship tomorrow. May arrive late.",
            "Notebook A5 XL, lorem ipsum dolor sit amet",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/112.0",
            "Wayne Enterprises",
        ] {
            assert!(!d.mentions_name(text, &mut s), "{text}");
        }
    }

    #[test]
    fn listed_names_match_folded_whole_words() {
        let list = NameList::from_lines(["Anna Müller", "Jürgen  Schmidt", "Bo", "# comment"].into_iter()).unwrap();
        assert_eq!(list.count, 2);
        let mut s = NameScratch::default();
        assert_eq!(list.find("anna muller", &mut s), Some(true));
        assert_eq!(list.find("ANNA MÜLLER", &mut s), Some(true));
        assert_eq!(list.find("Called Juergen? No: said JÜRGEN SCHMIDT today", &mut s), Some(false));
        assert_eq!(list.find("Hannah Müllerson", &mut s), None);
        assert_eq!(list.find("Bo Diddley", &mut s), None);
    }
}
