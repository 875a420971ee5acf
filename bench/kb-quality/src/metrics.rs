//! The figures: recall@1, recall@5 and MRR@10 over questions that each have exactly one right article.
//!
//! With one relevant article per question, recall@k is the share of questions whose article is among the
//! first k results, and MRR@10 the mean of 1/rank of that article (0 when it is not in the first ten).

/// Running totals over the questions of one set and one method.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Questions counted.
    pub questions: usize,
    /// Questions whose article came first.
    pub at_1: usize,
    /// Questions whose article was in the first five.
    pub at_5: usize,
    /// Questions with no result at all.
    pub empty: usize,
    reciprocal_ranks: f64,
}

impl Scores {
    /// Counts one question: `ranked` are the article ids found, best first; `answer` is the right one.
    pub fn add(&mut self, ranked: &[usize], answer: usize) {
        self.questions += 1;
        if ranked.is_empty() {
            self.empty += 1;
        }
        if let Some(position) = ranked.iter().take(10).position(|id| *id == answer) {
            self.at_1 += usize::from(position == 0);
            self.at_5 += usize::from(position < 5);
            self.reciprocal_ranks += 1.0 / (position as f64 + 1.0);
        }
    }

    /// Recall@1.
    pub fn recall_at_1(&self) -> f64 {
        self.share(self.at_1)
    }

    /// Recall@5.
    pub fn recall_at_5(&self) -> f64 {
        self.share(self.at_5)
    }

    /// MRR@10.
    pub fn mrr_at_10(&self) -> f64 {
        if self.questions == 0 { 0.0 } else { self.reciprocal_ranks / self.questions as f64 }
    }

    fn share(&self, count: usize) -> f64 {
        if self.questions == 0 { 0.0 } else { count as f64 / self.questions as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_count_as_expected() {
        let mut scores = Scores::default();
        scores.add(&[7, 1, 2], 7); // first
        scores.add(&[1, 2, 3, 7], 7); // fourth
        scores.add(&[1, 2, 3, 4, 5, 6, 7], 7); // seventh
        scores.add(&[], 7); // nothing found
        scores.add(&[0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 7], 7); // eleventh: past MRR@10
        assert_eq!((scores.questions, scores.at_1, scores.at_5, scores.empty), (5, 1, 2, 1));
        assert!((scores.recall_at_1() - 0.2).abs() < 1e-9);
        assert!((scores.recall_at_5() - 0.4).abs() < 1e-9);
        assert!((scores.mrr_at_10() - (1.0 + 0.25 + 1.0 / 7.0) / 5.0).abs() < 1e-9);
    }
}
