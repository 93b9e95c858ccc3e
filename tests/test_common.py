"""scikit-learn conformance of every estimator (cheap settings)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skmaxent import (
    MaxEntDual,
    MaxLikelihoodEBM,
    MomentMatchingEBM,
    ScoreMatchingGaussian,
)


@parametrize_with_checks(
    [
        MaxEntDual(n_chains=64, max_iter=100),
        MomentMatchingEBM(n_chains=64, max_iter=100),
        MaxLikelihoodEBM(n_chains=64, max_iter=100),
        ScoreMatchingGaussian(),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
