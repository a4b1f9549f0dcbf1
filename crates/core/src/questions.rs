//! Challenge questions: the district's pool, and the three answers a person gives.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::Violations;
use crate::{
    Rule,
    text::{answer_key, has_invisible},
};

/// How many questions a person answers.
pub const ANSWERS_REQUIRED: usize = 3;
/// The fewest characters an answer may have once normalised.
pub const MIN_ANSWER_CHARS: usize = 3;
/// The most characters an answer may have as typed.
pub const MAX_ANSWER_CHARS: usize = 200;
/// A question id's length at most (the pool's ids are 1 to 64 characters).
pub const MAX_QUESTION_ID_CHARS: usize = 64;

/// A challenge question: a stable id (kept with each person's answer) and the text shown.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable identifier such as `first-pet`; lowercase letters, digits and `-`.
    pub id: String,
    /// The question as shown to the person.
    pub text: String,
}

/// The questions a district offers; a person picks three different ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionPool {
    questions: Vec<Question>,
}

const DEFAULT_QUESTIONS: &[(&str, &str)] = &[
    ("first-pet", "What was the name of your first pet?"),
    (
        "elementary-school",
        "What was the name of your elementary school?",
    ),
    ("birth-city", "In what city or town were you born?"),
    (
        "first-car",
        "What was the make and model of your first car?",
    ),
    (
        "childhood-street",
        "What street did you live on as a child?",
    ),
    (
        "childhood-friend",
        "What is the first name of your childhood best friend?",
    ),
    ("first-job", "Where did you work at your first job?"),
    (
        "favorite-teacher",
        "What was the last name of your favorite teacher?",
    ),
    ("parents-meet", "In what city did your parents meet?"),
    ("first-concert", "What was the first concert you attended?"),
    ("childhood-nickname", "What was your childhood nickname?"),
    (
        "oldest-cousin",
        "What is the first name of your oldest cousin?",
    ),
];

impl QuestionPool {
    /// Validates a configured pool; the error says what is wrong with it.
    pub fn new(questions: Vec<Question>) -> Result<Self, String> {
        if questions.len() < ANSWERS_REQUIRED {
            return Err(format!("must hold at least {ANSWERS_REQUIRED} questions"));
        }
        for (i, q) in questions.iter().enumerate() {
            let id_ok = !q.id.is_empty()
                && q.id.len() <= 64
                && q.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return Err(format!(
                    "question {}: id must be 1 to 64 lowercase letters, digits or '-'",
                    i + 1
                ));
            }
            if q.text.trim().is_empty() || has_invisible(&q.text) {
                return Err(format!(
                    "question {}: text must be a non-empty single line",
                    i + 1
                ));
            }
            if questions[..i].iter().any(|earlier| earlier.id == q.id) {
                return Err(format!("question {}: id {:?} is used twice", i + 1, q.id));
            }
        }
        Ok(Self { questions })
    }

    /// The questions, in the configured order.
    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    /// The question with this id.
    pub fn get(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// Where a question stands in the pool; after every pooled one when it left the pool.
    pub fn position(&self, id: &str) -> usize {
        self.questions
            .iter()
            .position(|q| q.id == id)
            .unwrap_or(self.questions.len())
    }
}

impl Default for QuestionPool {
    fn default() -> Self {
        let questions = DEFAULT_QUESTIONS
            .iter()
            .map(|(id, text)| Question {
                id: (*id).into(),
                text: (*text).into(),
            })
            .collect();
        Self::new(questions).expect("the default pool is valid")
    }
}

/// An answer as it arrives in a request.
#[derive(Debug)]
pub struct TypedAnswer {
    /// The question it answers.
    pub question_id: String,
    /// The answer as typed.
    pub answer: SecretString,
}

/// A validated answer: its question and its normalised form, ready to hash or compare.
#[derive(Debug)]
pub struct NormalizedAnswer {
    /// The question answered.
    pub question: Question,
    /// The answer after [`answer_key`] normalisation.
    pub key: SecretString,
}

/// Checks a set of answers against the pool and the rules (three, for different questions,
/// each at least three characters once normalised, all different, none equal to the
/// password), recording problems under `field` (`answers[1].answer`).
pub fn validate_answers(
    pool: &QuestionPool,
    field: &str,
    answers: &[TypedAnswer],
    password: Option<&SecretString>,
    violations: &mut Violations,
) -> Option<Vec<NormalizedAnswer>> {
    if answers.len() != ANSWERS_REQUIRED {
        violations.add(field, Rule::AnswerCount(ANSWERS_REQUIRED));
        return None;
    }
    let password_key = password.map(|p| answer_key(p.expose_secret()));
    let mut valid = Vec::with_capacity(ANSWERS_REQUIRED);
    let mut ok = true;
    for (i, typed) in answers.iter().enumerate() {
        let question_field = format!("{field}[{i}].question_id");
        let answer_field = format!("{field}[{i}].answer");
        let question = pool.get(&typed.question_id);
        if typed.question_id.chars().count() > MAX_QUESTION_ID_CHARS {
            violations.add(&question_field, Rule::AtMostChars(MAX_QUESTION_ID_CHARS));
        } else if question.is_none() {
            violations.add(&question_field, Rule::QuestionNotOffered);
        } else if answers[..i]
            .iter()
            .any(|a| a.question_id == typed.question_id)
        {
            violations.add(&question_field, Rule::DistinctQuestions);
        }
        let raw = typed.answer.expose_secret();
        let key = answer_key(raw);
        let problem = if has_invisible(raw) {
            Some(Rule::Invisible)
        } else if raw.chars().count() > MAX_ANSWER_CHARS {
            Some(Rule::AtMostChars(MAX_ANSWER_CHARS))
        } else if key.chars().count() < MIN_ANSWER_CHARS {
            Some(Rule::AtLeastChars(MIN_ANSWER_CHARS))
        } else if valid
            .iter()
            .any(|a: &NormalizedAnswer| a.key.expose_secret() == key)
        {
            Some(Rule::DistinctAnswers)
        } else if password_key.as_deref() == Some(key.as_str()) {
            Some(Rule::SameAsPassword)
        } else {
            None
        };
        match (question, problem) {
            (_, Some(problem)) => {
                violations.add(answer_field, problem);
                ok = false;
            }
            (Some(question), None) => valid.push(NormalizedAnswer {
                question: question.clone(),
                key: SecretString::from(key),
            }),
            (None, None) => ok = false,
        }
    }
    (ok && violations.is_empty()).then_some(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&str, &str)]) -> Vec<TypedAnswer> {
        pairs
            .iter()
            .map(|(q, a)| TypedAnswer {
                question_id: (*q).into(),
                answer: SecretString::from(*a),
            })
            .collect()
    }

    fn fields(pairs: &[(&str, &str)], password: &str) -> Vec<String> {
        let mut v = Violations::default();
        let password = SecretString::from(password);
        let result = validate_answers(
            &QuestionPool::default(),
            "answers",
            &typed(pairs),
            Some(&password),
            &mut v,
        );
        match v.into_result() {
            Ok(()) => {
                assert!(result.is_some());
                vec![]
            }
            Err(crate::Error::InvalidArgument { violations }) => {
                assert!(result.is_none());
                violations.into_iter().map(|v| v.field).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_pool_offers_at_least_ten_questions() {
        assert!(QuestionPool::default().questions().len() >= 10);
    }

    #[test]
    fn three_good_answers_pass_normalised() {
        let mut v = Violations::default();
        let answers = typed(&[
            ("first-pet", "  Rex  the DOG"),
            ("birth-city", "Jonesbóro"),
            ("first-car", "Ford Focus"),
        ]);
        let valid =
            validate_answers(&QuestionPool::default(), "answers", &answers, None, &mut v).unwrap();
        assert_eq!(valid[0].key.expose_secret(), "rex the dog");
        assert_eq!(valid[1].key.expose_secret(), "jonesboro");
    }

    #[test]
    fn each_bad_answer_names_its_field() {
        let good = [
            ("first-pet", "Rex"),
            ("birth-city", "Atlanta"),
            ("first-car", "Ford"),
        ];
        assert!(fields(&good, "Sekrit-Pass-1").is_empty());
        assert_eq!(fields(&good[..2], "x"), ["answers"]);
        assert_eq!(
            fields(&[good[0], good[1], good[2], good[2]], "x"),
            ["answers"]
        );
        assert_eq!(
            fields(&[good[0], good[1], ("nope", "Ford")], "x"),
            ["answers[2].question_id"]
        );
        assert_eq!(
            fields(&[good[0], good[1], ("first-pet", "Ford")], "x"),
            ["answers[2].question_id"]
        );
        assert_eq!(
            fields(&[good[0], good[1], ("first-car", " f ")], "x"),
            ["answers[2].answer"]
        );
        assert_eq!(
            fields(&[good[0], good[1], ("first-car", "REX")], "x"),
            ["answers[2].answer"]
        );
        assert_eq!(
            fields(&[good[0], good[1], ("first-car", "Fo\nrd")], "x"),
            ["answers[2].answer"]
        );
        assert_eq!(
            fields(
                &[good[0], ("birth-city", "sekrit-pass-1"), good[2]],
                "Sekrit-Pass-1"
            ),
            ["answers[1].answer"]
        );
        let long = "x".repeat(201);
        assert_eq!(
            fields(&[("first-pet", &long), good[1], good[2]], "x"),
            ["answers[0].answer"]
        );
    }

    #[test]
    fn configured_pools_are_checked() {
        let q = |id: &str| Question {
            id: id.into(),
            text: "Why?".into(),
        };
        assert!(QuestionPool::new(vec![q("a"), q("b")]).is_err());
        assert!(QuestionPool::new(vec![q("a"), q("b"), q("a")]).is_err());
        assert!(QuestionPool::new(vec![q("a"), q("b"), q("C")]).is_err());
        assert!(QuestionPool::new(vec![q("a"), q("b"), q("c")]).is_ok());
    }
}
