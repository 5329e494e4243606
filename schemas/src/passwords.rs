//! The password policy for new passwords, following NIST SP 800-63B (section 5.1.1.2,
//! "Memorized Secret Verifiers").
//!
//! [`check_new_password`] is called wherever a password is chosen (a new user, a password
//! change, a reset); it is never used at sign-in, where only the stored hash decides. The rules:
//!
//! - **Length, counted in characters, not bytes**: at least [`MIN_CHARS`] (NIST asks for at
//!   least 8; 12 is our choice for staff accounts that can read clinical records) and at most
//!   [`MAX_CHARS`] (NIST asks to allow at least 64). Every character is allowed, spaces and any
//!   Unicode included, so a few ordinary words make a good password. The upper bound is checked
//!   first, on the byte length, so a huge input is refused without being read through.
//! - **Context-specific words**: the password must not contain the user name (compared without
//!   regard to case, for user names of at least 3 characters).
//! - **Repetitive or sequential characters**: refused when the whole password is one short
//!   group of up to 4 characters written again and again (`aaaaaaaaaaaa`, `abababababab`,
//!   `123123123123`) or a run along the alphabet, the digits or the top-to-bottom rows of a
//!   QWERTY keyboard, forwards or backwards (`abcdefghijkl`, `123456789012`, `qwertyuiopasdf`,
//!   `zyxwvutsrqpo`).
//! - **Passwords obtained from previous breach corpuses / commonly used**: refused when on the
//!   bundled list of 30,000 common passwords (`schemas/data/common-passwords.txt`, from the
//!   `zxcvbn` project, MIT licence; see the file's header), compared in lower case. To catch
//!   the usual ways of dressing a common password up, the same look-up is also made on the
//!   "core" of the password, with leading and trailing digits, punctuation and spaces removed
//!   (`Password1234!` has the core `password`), and the password or its core is also refused
//!   when it is a common password written two or more times (`passwordpassword`). The
//!   repetition and sequence rules above apply to that core too, once it has at least
//!   [`MIN_CORE_CHARS`] characters (`aaaaaaaa2024!` is refused; in `x839201937462` the core
//!   `x` is too short to say anything).
//!
//! There are deliberately **no composition rules** (no "one upper-case letter, one digit, one
//! symbol"): NIST SP 800-63B says verifiers SHOULD NOT impose them, because they push people
//! to predictable patterns such as `Password1!` while making passwords harder to remember, and
//! they add little strength. Length and a block list do far more. Likewise nothing here makes
//! passwords expire. Messages explain what to change in words a receptionist can act on, and
//! never repeat the password.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::errors::ValidationError;

/// The fewest characters (Unicode scalar values, not bytes) a new password may have.
pub const MIN_CHARS: usize = 12;

/// The most characters (Unicode scalar values, not bytes) a new password may have.
pub const MAX_CHARS: usize = 256;

/// User names shorter than this are not looked for inside the password: a 1- or 2-letter name
/// would refuse far too many good passwords.
const MIN_USERNAME_CHARS: usize = 3;

/// A password that is a group of at most this many characters repeated is "repetitive".
const MAX_REPEATED_GROUP_CHARS: usize = 4;

/// The core of a password (without leading and trailing digits, punctuation and spaces) gets
/// the repetition and sequence checks only when it has at least this many characters.
pub const MIN_CORE_CHARS: usize = 6;

/// Runs that count as "sequential": each character is the next (or each the previous) one
/// along one of these, wrapping round at the end (so `890123` is a run of digits).
const SEQUENCES: [&str; 3] = ["abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm"];

/// The bundled list: one lower-case password a line, `#` lines are its header.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

const TOO_LONG: &str = "must be at most 256 characters long";
const TOO_SHORT: &str = "must be at least 12 characters long; a few ordinary words with spaces between them \
    are long enough and easy to remember";
const HAS_USERNAME: &str = "must not contain the user name";
const REPETITIVE: &str = "must not be the same character or short group of characters repeated, \
    or letters or numbers in order (like abcdef or 123456)";
const COMMON: &str = "is too common: it is on a list of passwords that are used often and easily guessed; \
    please choose a different one";

/// The common-password list, parsed on first use.
fn common_set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
    })
}

/// How many passwords the bundled common-password list holds.
pub fn common_count() -> usize {
    common_set().len()
}

/// Whether `password` counts as a common password under the rules of this module: it is on the
/// bundled list (ignoring case), or its core (without leading and trailing digits, punctuation
/// and spaces) is, or either is a listed password written two or more times. A password longer
/// than [`MAX_CHARS`] is never common (and [`check_new_password`] refuses it anyway).
pub fn is_common(password: &str) -> bool {
    if password.len() > MAX_CHARS * 4 {
        return false;
    }
    let lower = password.to_lowercase();
    let set = common_set();
    [lower.as_str(), core(&lower)]
        .into_iter()
        .filter(|candidate| !candidate.is_empty())
        .any(|candidate| set.contains(candidate) || repeated_groups(candidate).any(|group| set.contains(group)))
}

/// Checks a newly chosen password against the policy described in the module docs. `field` is
/// the field name reported in the error; `username` is the account's user name (the new one,
/// when it is being created). The error message never contains the password.
pub fn check_new_password(field: &str, password: &str, username: &str) -> Result<(), ValidationError> {
    // Cheap bound first: a character is at most 4 bytes in UTF-8, so more bytes than this is
    // certainly too many characters, and a huge input is refused without being scanned.
    if password.len() > MAX_CHARS * 4 {
        return Err(ValidationError::new(field, TOO_LONG));
    }
    let chars = password.chars().count();
    if chars > MAX_CHARS {
        return Err(ValidationError::new(field, TOO_LONG));
    }
    if chars < MIN_CHARS {
        return Err(ValidationError::new(field, TOO_SHORT));
    }

    let lower = password.to_lowercase();
    let username = username.trim().to_lowercase();
    if username.chars().count() >= MIN_USERNAME_CHARS && lower.contains(&username) {
        return Err(ValidationError::new(field, HAS_USERNAME));
    }

    let core = core(&lower);
    if is_repetitive_or_sequential(&lower)
        || (core.chars().count() >= MIN_CORE_CHARS && is_repetitive_or_sequential(core))
    {
        return Err(ValidationError::new(field, REPETITIVE));
    }

    if is_common(password) {
        return Err(ValidationError::new(field, COMMON));
    }
    Ok(())
}

/// `s` without leading and trailing digits, punctuation and white space: the part people
/// usually pad to meet length or "complexity" rules (`password1234!` becomes `password`).
fn core(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace())
}

/// Every group that `s` is made of, written two or more times over, shortest first:
/// `abababab` yields `ab` and `abab`; `abcabd` yields nothing.
fn repeated_groups(s: &str) -> impl Iterator<Item = &str> {
    s.char_indices().skip(1).map(|(end, _)| &s[..end]).filter(move |group| {
        s.len().is_multiple_of(group.len()) && s.as_bytes().chunks(group.len()).all(|chunk| chunk == group.as_bytes())
    })
}

/// Whether lower-case `s` is one short group repeated, or a run along one of [`SEQUENCES`].
fn is_repetitive_or_sequential(s: &str) -> bool {
    let repetitive = repeated_groups(s).next().is_some_and(|group| group.chars().count() <= MAX_REPEATED_GROUP_CHARS);
    repetitive
        || SEQUENCES.iter().any(|sequence| {
            let sequence = sequence.as_bytes();
            is_run(s, sequence, 1) || is_run(s, sequence, sequence.len() - 1)
        })
}

/// Whether each character of `s` is `step` places after the previous one along `sequence`,
/// wrapping round. A step of `len - 1` walks backwards.
fn is_run(s: &str, sequence: &[u8], step: usize) -> bool {
    let position = |c: char| u8::try_from(c).ok().and_then(|byte| sequence.iter().position(|&b| b == byte));
    let mut chars = s.chars();
    let Some(mut at) = chars.next().and_then(position) else {
        return false;
    };
    for c in chars {
        let next = (at + step) % sequence.len();
        if position(c) != Some(next) {
            return false;
        }
        at = next;
    }
    true
}

#[cfg(test)]
mod tests {

    use super::*;

    fn check(password: &str) -> Result<(), ValidationError> {
        check_new_password("password", password, "anna.vet")
    }

    fn message(password: &str) -> String {
        check(password).expect_err(password).message
    }

    #[test]
    fn the_bundled_list_is_large_and_lower_case() {
        assert!(common_count() >= 10_000, "only {} common passwords", common_count());
        assert!(common_set().contains("password"));
        assert!(common_set().contains("123456"));
        assert!(common_set().iter().all(|entry| *entry == entry.to_lowercase()));
        assert!(!common_set().iter().any(|entry| entry.starts_with('#')));
    }

    #[test]
    fn common_passwords_and_dressed_up_ones_are_refused() {
        for password in ["password1234", "Password1234!", "PASSWORD1234", "passwordpassword", "PasswordPassword1!"] {
            assert!(is_common(password), "{password}");
            assert_eq!(message(password), COMMON, "{password}");
        }
        assert_eq!(message("!!sunshine2024"), COMMON);
        assert_eq!(message("iloveyouiloveyou"), COMMON);
        assert_eq!(message("1qaz2wsx3edc"), COMMON);
        assert!(!is_common("correct horse battery staple"));
    }

    #[test]
    fn qwertyuiopasdf_is_refused_as_common_or_as_a_keyboard_run() {
        let err = check("qwertyuiopasdf").unwrap_err();
        if common_set().contains("qwertyuiopasdf") {
            assert_eq!(err.message, COMMON);
        } else {
            assert_eq!(err.message, REPETITIVE);
        }
    }

    #[test]
    fn good_passphrases_are_accepted() {
        for password in [
            "correct horse battery staple",
            "Correct Horse Battery Staple",
            "the cat sat on 3 mats",
            "fluffy-bunny-vaccine-tuesday",
            "ünïcödé-pässwörd",
            "猫は毎朝七時に朝ご飯を食べる",
        ] {
            assert_eq!(check(password), Ok(()), "{password}");
        }
    }

    #[test]
    fn passwords_containing_the_user_name_are_refused() {
        let err = check_new_password("password", "admin-secret-1234", "admin").unwrap_err();
        assert_eq!(err.field, "password");
        assert_eq!(err.message, HAS_USERNAME);
        assert_eq!(check_new_password("password", "my ADMIN is kind", "Admin").unwrap_err().message, HAS_USERNAME);
        // Too short a user name is not looked for.
        assert_eq!(check_new_password("password", "jo likes long walks", "jo"), Ok(()));
        assert_eq!(check_new_password("password", "jo likes long walks", ""), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(message("kq7wz mbt3r"), TOO_SHORT);
        assert_eq!(check("kq7wz mbt3rv"), Ok(()));
        assert_eq!("kq7wz mbt3rv".chars().count(), MIN_CHARS);
        // 11 characters but 22 bytes: still too short.
        assert_eq!(message("ħŋæßðđŋħjĸł"), TOO_SHORT);
        // 16 characters, 24 bytes.
        assert_eq!("ünïcödé-pässwörd".chars().count(), 16);
        assert_eq!(check("ünïcödé-pässwörd"), Ok(()));
    }

    #[test]
    fn the_longest_allowed_password_is_accepted_and_one_more_character_refused() {
        // 256 four-byte characters: exactly MAX_CHARS * 4 bytes, with no repetition.
        let longest: String = (0..MAX_CHARS as u32).map(|i| char::from_u32(0x1F600 + i % 79).unwrap()).collect();
        assert_eq!(longest.len(), MAX_CHARS * 4);
        assert_eq!(check(&longest), Ok(()));
        let too_long = format!("{longest}x");
        assert_eq!(message(&too_long), TOO_LONG);
        let ascii_too_long: String = (0..=MAX_CHARS).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        assert_eq!(message(&ascii_too_long), TOO_LONG);
    }

    #[test]
    fn a_megabyte_password_is_refused_as_too_long() {
        // Refused by its byte length before any scan (speed is for benchmarks, not tests).
        let huge = "x".repeat(1 << 20);
        assert_eq!(message(&huge), TOO_LONG);
        assert!(!is_common(&huge));
    }

    #[test]
    fn repeats_and_sequences_are_refused() {
        for password in [
            "aaaaaaaaaaaa",
            "            ",
            "ÅÅÅÅÅÅÅÅÅÅÅÅ",
            "abababababab",
            "123123123123",
            "abcdabcdabcd",
            "123456789012",
            "abcdefghijkl",
            "ABCDEFGHIJKL",
            "lkjihgfedcba",
            "210987654321",
            "zyxwvutsrqpo",
            "xyzabcdefghi",
            "qwertyuiopasdf",
            "aaaaaaaa2024!",
            "!!bcdefghij99",
        ] {
            assert_eq!(message(password), REPETITIVE, "{password}");
        }
        // A short core says nothing: this is a long random-looking number with a letter.
        assert_eq!(check("x839201937462"), Ok(()));
    }

    #[test]
    fn messages_never_contain_the_password() {
        let refused: [&str; 9] = [
            "tiny pw",
            "Password1234!",
            "passwordpassword",
            "admin-secret-1234",
            "aaaaaaaaaaaa",
            "123456789012",
            "qwertyuiopasdf",
            &"z".repeat(MAX_CHARS + 1),
            &"y".repeat(1 << 20),
        ];
        for password in refused {
            let err = check_new_password("password", password, "admin").unwrap_err();
            assert!(!err.message.to_lowercase().contains(&password.to_lowercase()), "{password}");
            assert!(!err.field.contains(password));
        }
    }

    #[test]
    fn repeated_groups_finds_every_group() {
        assert_eq!(repeated_groups("abababab").collect::<Vec<_>>(), ["ab", "abab"]);
        assert_eq!(repeated_groups("ääää").collect::<Vec<_>>(), ["ä", "ää"]);
        assert_eq!(repeated_groups("abcabd").count(), 0);
        assert_eq!(repeated_groups("a").count(), 0);
        assert_eq!(repeated_groups("").count(), 0);
    }

    #[test]
    fn the_size_messages_name_the_limits() {
        assert!(TOO_LONG.contains(&MAX_CHARS.to_string()));
        assert!(TOO_SHORT.contains(&MIN_CHARS.to_string()));
    }
}
