"""Shared test set-up."""

import warnings

import pytest
import torch
from streamlit.runtime.pages_manager import PagesManager


@pytest.fixture
def app_test_pages(monkeypatch):
    """AppTest resets Streamlit's legacy `pages/` mode before every run; a real server leaves it off once
    app.py has called st.navigation (see ui/__init__.py). Keep it off, as on a server."""
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def fresh_trainers(monkeypatch):
    """Each test gets a pool of trainers of its own: runs that earlier tests left open (their trainers end when the
    test's pool is shut down) must not share this test's trainers."""
    from core.train import pool

    mine = pool.Pool(pool.Settings(trainers=2, memory_mb=1024, ray_address=None))
    monkeypatch.setattr(pool, "_pool", mine)
    yield mine
    mine.shutdown()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is fastest, and immune to a busy machine's oversubscription; restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def drain_queue():
    """For AppTest: rerun (as a page's polling fragment would) until the session's queued runs are done."""
    import time

    def drain(at, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while at.session_state["run_queue"] and time.monotonic() < deadline:
            time.sleep(0.1)
            at.run()
        assert not at.session_state["run_queue"], "queued runs did not finish"
        at.run()

    return drain


# ==== The `slow` marker ============================================================================================
# `python -m pytest -m "not slow" -n 2` is the quick subset for development (README: The two commands); `.ci/run`
# runs everything. The marker is registered in pyproject.toml and given here, by node id, rather than by decorators
# in the test files, so that this list and other people's edits of those files never touch the same lines. (A test
# may also carry @pytest.mark.slow itself.)
#
# The rule: every browser test (Playwright driving Chromium), and every test that took about 2 s or more
# (setup + call + teardown) in `python -m pytest -n 2 -p no:cacheprovider --durations=0` on the project's 2-core
# machine with one torch thread (pytest_configure below), while other developers' work loaded it (load average
# 3-7: the entries near 2 s are a judgement). Every test module outside SLOW_MODULES keeps fast tests. An entry is
# a module, a test function (all of its parameters) or one parameter of it. A whole run (`python -m pytest`, no
# paths) warns about an entry that matches nothing, such as a renamed test. To re-measure: the command above, then
# list the tests of 2 s or more that are not marked.
SLOW_MODULES = (
    "tests/test_e2e.py",  # the browser tests: a real server and Chromium, 20-85 s each
    "tests/test_run_owner_stateful.py",  # hypothesis' random event sequences with real trainer processes
)
SLOW_TESTS = (
    # presets and their claims: several runs each, some seeds through the command line
    "tests/test_claims.py::test_fig_8_1_holds_for_three_seeds_through_the_command_line",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[minima-restarts]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[minima-aligned]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[minima-copies]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig1-maxout]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig2-sigmoid-relu]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig5-two-solutions]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig6-cnn]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig12-convex]",
    "tests/test_claims.py::test_the_presets_claims_hold_on_their_runs[fig3-three-activations]",
    "tests/test_fig8_card.py::test_the_claims_hold_for_three_seeds_through_the_command_line",
    "tests/test_fig8_card.py::test_home_lists_the_card_and_its_link_trains_the_run_and_shows_the_claims",
    "tests/test_cli_startup.py::test_a_command_module_is_imported_only_when_its_command_runs",
    # curvature: spectra, Lanczos against exact
    "tests/test_spectrum.py::test_slq_index_is_within_three_points_of_the_exact_index",
    "tests/test_spectrum.py::test_cli_spectrum_summary_for_each_method",
    "tests/test_spectrum.py::test_condition_number_is_set_by_the_hessian_not_by_a_cut_off",
    "tests/test_curvature_recurrent.py::test_spectrum_and_index_views_of_rnn_and_lstm_runs",
    "tests/test_curvature_recurrent.py::test_spectrum_paths_equal_eigvalsh_of_func_hessian[lstm]",
    "tests/test_curvature_recurrent.py::test_optimizers_saddles_and_cliffs_with_recurrent_runs_in_the_session",
    "tests/test_cnn_app.py::test_lambda_max_by_lanczos_matches_the_exact_spectrum",
    # restarts (the Ray engine starts a Ray cluster) and runs in trainer processes
    "tests/test_restarts.py::test_the_ray_engine_gives_the_local_numbers",
    "tests/test_restarts.py::test_on_noisy_xor_fits_means_as_good_as_the_best_restart_of_the_widest_network",
    "tests/test_race.py::test_restarts_on_himmelblau_find_all_four_minima",
    "tests/test_interpolation.py::test_live_record_equals_the_in_process_record",
    "tests/test_bad_input_limits.py::test_the_estimate_is_above_the_measured_peak",  # trains to measure the peak
    "tests/test_live.py::test_a_killed_trainer_costs_its_runs_at_most_their_last_save_and_others_nothing",
    "tests/test_live.py::test_two_runs_train_independently",
    "tests/test_live.py::test_a_run_nobody_watches_pauses_itself",
    "tests/test_live.py::test_pause_stops_and_step_once_takes_one_step",
    "tests/test_live.py::test_a_training_worker_reports_its_cpu_share",
    "tests/test_live.py::test_an_idle_run_leaves_memory_its_trainer_ends_and_the_run_resumes_exactly",
    "tests/test_live.py::test_background_chunks_give_the_same_numbers_as_one_go",
    "tests/test_live.py::test_a_full_memory_budget_parks_idle_runs_then_makes_new_ones_wait",
    "tests/test_live.py::test_hot_change_is_used_by_the_next_chunk",
    "tests/test_live.py::test_snapshot_is_a_copy",
    "tests/test_live.py::test_a_kill_at_a_random_moment_of_a_park_never_loses_the_run",
    "tests/test_live.py::test_a_killed_trainer_of_an_idle_run_loses_nothing",
    "tests/test_live.py::test_a_run_whose_saves_are_damaged_fails_with_one_sentence_and_touch_never_raises",
    # pages (AppTest) that train runs, sweeps or animations before they draw
    "tests/test_app.py::test_reset_and_train_in_one_rerun_start_a_new_run_training",
    "tests/test_app.py::test_structural_change_asks_for_a_new_run",
    "tests/test_app.py::test_newton_on_a_big_model_refuses_clearly_and_keeps_the_old_run",
    "tests/test_app.py::test_curvature_monitor_switches_on_mid_run_and_draws_its_charts",
    "tests/test_app.py::test_a_parked_run_never_drawn_waits_for_a_trainer_without_a_traceback",
    "tests/test_app.py::test_diverging_run_pauses_with_an_explanation",
    "tests/test_app.py::test_settings_survive_a_page_without_them",
    "tests/test_app.py::test_train_page_step_draws_every_monitor",
    "tests/test_app.py::test_learning_rate_change_keeps_progress",
    "tests/test_app.py::test_pages_without_runs_have_no_training_settings",
    "tests/test_app.py::test_train_on_a_full_server_waits_in_line_and_says_so",
    # (test_app.py::test_train_runs_in_background_and_survives_page_switch, 3 s, stays fast: the Train page's path)
    "tests/test_app_surfaces.py::test_the_race_becomes_an_animated_gif_for_a_slide",
    "tests/test_app_surfaces.py::test_playing_to_the_end_stops_there_and_play_starts_over",
    "tests/test_app_surfaces.py::test_while_playing_the_slider_the_title_and_the_readouts_show_the_frame_being_drawn",
    "tests/test_app_surfaces.py::test_defaults_race_three_optimizers_on_rosenbrock_and_read_out_the_point",
    "tests/test_app_memory.py::test_through_time_on_the_links_runs_draws_both_charts_and_its_claims_hold",
    "tests/test_cliff_view.py::test_the_cliff_view_on_its_defaults_draws_both_charts_and_every_claim_holds",
    "tests/test_app_minima.py::test_restarts_of_the_sidebars_network_and_one_kept_as_a_run",
    "tests/test_app_minima.py::test_the_restarts_card_trains_its_sweeps_and_its_claims_hold",
    "tests/test_app_curvature.py::test_spectrum_of_a_run_exact_then_lanczos",
    "tests/test_app_curvature.py::test_index_along_training",
    "tests/test_app_straying.py::test_a_training_run_is_drawn_live_from_its_snapshot",
    "tests/test_app_straying.py::test_fig13_preset_trains_a_run_and_checks_the_two_thirds_claim",
    "tests/test_app_straying.py::test_fig11_preset_draws_random_walks",
    "tests/test_app_interpolation.py::test_train_two_seeds_then_every_endpoint_mode_draws",
    "tests/test_app_interpolation.py::test_the_train_pages_run_is_listed_and_kept_when_replaced",
    "tests/test_app_interpolation.py::test_preset_link_trains_its_runs_and_overlays_them",
    "tests/test_app_gradients.py::test_noise_view_on_the_default_run_draws_both_charts_and_its_claims_hold",
    "tests/test_app_gradients.py::test_live_view_follows_the_train_pages_run_while_it_trains",
    "tests/test_app_gradients.py::test_slow_work_runs_behind_a_progress_bar",
    "tests/test_app_gradients.py::test_presenter_mode_draws_every_view",
    "tests/test_app_gradients.py::test_noise_view_at_theta_init_and_on_the_address_bar",
    "tests/test_app_data.py::test_a_cnn_link_on_digits_trains_a_cnn",
    "tests/test_app_data.py::test_upload_train_then_a_bad_file_keeps_the_run_and_the_csv",
    "tests/test_app_deep_linear.py::test_a_link_opens_a_named_line_and_custom_endpoints_follow_the_inputs",
    "tests/test_regression.py::test_the_train_page_on_sine_draws_the_fit_and_says_rmse",
    "tests/test_gallery_views.py::test_train_now_queues_the_sidebar_s_run_once_and_leaves_the_address",
    "tests/test_url_values.py::test_bound_widgets_show_their_values_as_they_are_and_a_link_selects_them"
    "[surfaces.py{'sf_mode': 'restarts'}]",
    "tests/test_url_values.py::test_bound_widgets_show_their_values_as_they_are_and_a_link_selects_them"
    "[straying.py{'st_view': 'convex'}]",
)


# Every test of a module that uses one of these module-scoped fixtures (a test alone would just move the fixture's
# cost to whichever test comes first): test_cli's command lines run as real processes, each importing torch;
# test_bad_input_limits trains a CNN.
SLOW_FIXTURES = {"tests/test_cli.py": "cli_runs", "tests/test_bad_input_limits.py": "cnn_run"}


def _slow_entry(item) -> str | None:
    """The entry of SLOW_MODULES, SLOW_TESTS or SLOW_FIXTURES that covers this test, if any."""
    nodeid = item.nodeid
    for entry in SLOW_MODULES + SLOW_TESTS:
        if nodeid == entry or nodeid.startswith((entry + "::", entry + "[")):
            return entry
    module = nodeid.split("::")[0]
    if SLOW_FIXTURES.get(module) in getattr(item, "fixturenames", ()):
        return f"{module}::{SLOW_FIXTURES[module]}"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by markers
def pytest_collection_modifyitems(config, items):
    used = set()
    for item in items:
        entry = _slow_entry(item)
        if entry is not None:
            item.add_marker(pytest.mark.slow)
            used.add(entry)
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:  # a whole run: each entry should match a test
        modules = {item.nodeid.split("::")[0] for item in items}
        listed = [*SLOW_MODULES, *SLOW_TESTS, *(f"{m}::{f}" for m, f in SLOW_FIXTURES.items())]
        stale = [e for e in listed if e not in used and e.split("::")[0] in modules]
        if stale:
            warnings.warn(pytest.PytestWarning(f"tests/conftest.py lists slow tests that no longer exist: {stale}"),
                          stacklevel=1)


def pytest_configure(config):
    """Part of the quick set-up: tests compute with one torch thread. With two threads per process (and two
    processes under `-n 2`) the loaded 2-core machine is oversubscribed and small tensors wait on spinning threads:
    tests/test_state.py took 20-40 s instead of 4-7 s. Subprocesses (the trainers, the CLI) set their own threads;
    a test that needs more sets them itself (tests/test_progress.py)."""
    torch.set_num_threads(1)
