"""Settings in a context: ``set_config``/``get_config``/``config_context``, and
the clone rule that carries a context's settings into grid-search workers."""

import dataclasses
import pickle
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skmaxent
from skmaxent import MaxEntDual, MaxLikelihoodEBM, MomentMatchingEBM, Settings

DEFAULTS = Settings()


@pytest.fixture(autouse=True)
def _restore():
    before = skmaxent.get_config()
    yield
    skmaxent.set_config(**dataclasses.asdict(before))


# ---------------------------------------------------------- set, get, context


def test_defaults_set_and_get():
    assert skmaxent.get_config() == DEFAULTS
    skmaxent.set_config(chunk_size=20, gaussian_metric=False)
    got = skmaxent.get_config()
    assert (got.chunk_size, got.gaussian_metric) == (20, False)
    assert dataclasses.replace(got, chunk_size=50, gaussian_metric=True) == DEFAULTS
    skmaxent.set_config()  # no change
    assert skmaxent.get_config() == got


def test_context_nests_and_restores_also_on_error():
    with skmaxent.config_context(chunk_size=10) as outer:
        assert skmaxent.get_config() is outer and outer.chunk_size == 10
        with skmaxent.config_context(max_norm=0.25):
            inner = skmaxent.get_config()
            assert (inner.chunk_size, inner.max_norm) == (10, 0.25)
        assert skmaxent.get_config() == outer
    assert skmaxent.get_config() == DEFAULTS
    with pytest.raises(KeyError), skmaxent.config_context(chunk_size=5):
        raise KeyError("inside")
    assert skmaxent.get_config() == DEFAULTS


def test_settings_are_per_thread():
    seen = {}

    def other():
        seen["start"] = skmaxent.get_config()
        skmaxent.set_config(chunk_size=7)
        seen["set"] = skmaxent.get_config().chunk_size

    with skmaxent.config_context(chunk_size=10):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert skmaxent.get_config().chunk_size == 10
    assert seen == {"start": DEFAULTS, "set": 7}
    assert skmaxent.get_config() == DEFAULTS


@pytest.mark.parametrize("call", ["set_config", "config_context"])
def test_unknown_names_raise_type_error_listing_the_valid_ones(call):
    with pytest.raises(TypeError, match=r"'chunksize'.*valid names.*chunk_size"):
        if call == "set_config":
            skmaxent.set_config(chunksize=10)
        else:
            with skmaxent.config_context(chunksize=10):
                pass  # pragma: no cover
    assert skmaxent.get_config() == DEFAULTS


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("chunk_size", 0, "an int >= 1"),
        ("chunk_size", 2.5, "an int >= 1"),
        ("chunk_size", True, "an int >= 1"),
        ("target_accept", 1.0, r"a real number > 0 and < 1"),
        ("max_norm", float("nan"), "a real number > 0"),
        ("gaussian_metric", "yes", "a bool"),
        ("ais_reference", "normal", "one of 'gaussian', 'uniform'"),
        ("n_windows", 1, "an int >= 2 or None"),
        ("ais_particles", -3, "an int >= 2 or None"),
        ("ais_min_temperatures", 101, "at most ais_temperatures"),
    ],
)
def test_bad_values_raise_value_error_naming_setting_and_value(name, value, expected):
    with pytest.raises(ValueError, match=name) as info:
        skmaxent.set_config(**{name: value})
    assert expected in str(info.value) and repr(value) in str(info.value)
    with pytest.raises(ValueError, match=name):
        Settings(**{name: value})
    assert skmaxent.get_config() == DEFAULTS


def test_n_windows_none_is_each_estimators_own():
    assert DEFAULTS.n_windows is None
    assert MaxEntDual()._resolve_settings().n_windows == 4
    assert MomentMatchingEBM()._resolve_settings().n_windows == 4
    assert MaxLikelihoodEBM()._resolve_settings().n_windows == 16
    with skmaxent.config_context(n_windows=8):
        assert MaxLikelihoodEBM()._resolve_settings().n_windows == 8


# ------------------------------------------------------------ clone and workers


def test_clones_carry_a_context_and_the_context_in_effect_wins():
    model = MaxEntDual("linear")
    assert "_carried_settings" not in clone(model).__dict__  # defaults: nothing
    with skmaxent.config_context(chunk_size=10):
        carried = clone(model)
    assert carried._resolve_settings().chunk_size == 10  # outside the context
    again = pickle.loads(pickle.dumps(clone(carried)))  # a clone of a clone
    assert again._resolve_settings().chunk_size == 10
    with skmaxent.config_context(verify_chunks=2):  # non-default: it wins
        s = carried._resolve_settings()
        assert (s.chunk_size, s.verify_chunks) == (50, 2)
    assert model._resolve_settings().chunk_size == 50


# A context whose effect shows in every fit: the verification of the score-
# matching start runs one chunk, 10 iterations here, 20 (max_iter) with the
# default chunk of 50. The short AIS keeps the fits fast.
CONTEXT = dict(chunk_size=10, ais_min_temperatures=8, ais_temperatures=8)


def _verify_iterations(estimator, X, y=None):
    """A scorer: the fit's iterations at its verified start."""
    return float(np.sum(estimator.history_["phase"] == "verify"))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_inside_a_context_uses_it_in_every_fit(n_jobs):
    X = np.random.default_rng(0).beta(2.0, 3.0, size=(200, 1))
    model = MaxEntDual(
        "linear", bounds=[[0, 1]], n_chains=16, max_iter=20, random_state=0
    )
    search = GridSearchCV(
        model,
        {"alpha": [0.0, 0.01]},
        cv=2,
        n_jobs=n_jobs,
        scoring=_verify_iterations,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with skmaxent.config_context(**CONTEXT):
            search.fit(X)
        for key in ("split0_test_score", "split1_test_score"):
            np.testing.assert_array_equal(search.cv_results_[key], [10.0, 10.0])
        assert _verify_iterations(search.best_estimator_, X) == 10.0
        # Outside the context, a fresh estimator fits with the defaults.
        assert skmaxent.get_config() == DEFAULTS
        assert _verify_iterations(clone(model).fit(X), X) == 20.0
