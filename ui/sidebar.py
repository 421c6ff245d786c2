"""The shared sidebar: every TrainConfig field as a widget bound to the URL, returning a validated config."""

from __future__ import annotations

import streamlit as st

from core.model import config as cfg
from core.model.data import DATASETS
from core.model.device import DEVICES
from core.model.networks import ACTIVATIONS, EXACT_HESSIAN_MAX_PARAMS
from core.model.optim import OPTIMIZERS
from ui import link_values, shown
from ui.data_inputs import FELL_BACK, NOT_FROM_URL, data_problem, data_ui, data_values, users_of

D = cfg.DEFAULT
URL = {"bind": "query-params"}  # widget key = config field = URL parameter; defaults stay out of the URL
KEPT = "settings_kept"  # the widgets' values, kept while a page that does not show them is open


def models_for(dataset: str) -> list[str]:
    """The models (config.MODELS) the config accepts for this data set."""
    models = []
    for model in cfg.MODELS:
        try:
            cfg.from_dict({"dataset": dataset, "model": model, "csv_path": "-" if dataset == "csv" else ""})
        except ValueError as exc:
            if str(exc).startswith("model must"):
                continue
        models.append(model)
    return models


def _one_width_for_recurrent() -> None:
    """Picking rnn or lstm keeps the first hidden width as the state size (they take exactly one)."""
    widths = [w for w in str(st.session_state.get("hidden", "")).replace(" ", "").strip("[]").split(",") if w]
    if st.session_state.get("model") in ("rnn", "lstm") and len(widths) != 1:
        st.session_state["hidden"] = widths[0] if widths else "32"


def _model_ui(dataset: str) -> dict:
    with st.expander("Network", expanded=True):
        models = models_for(dataset) if dataset in DATASETS else ["mlp"]
        if st.session_state.get("model", "mlp") not in models:  # cnn, and then a data set without a layout
            st.session_state["model"] = "mlp"
        v = {"model": st.selectbox("Model", models, key="model", on_change=_one_width_for_recurrent,
                                   help="\n".join(f"- **{k}**: {text}" for k, text in cfg.MODELS.items()), **URL)}
        if "cnn" not in models:
            shaped = [k for k, d in DATASETS.items() if d.shape]
            st.caption(f"A CNN needs images or signals ({', '.join(shaped)}); the {dataset} data have no such layout.")
        cnn = v["model"] == "cnn"
        v["hidden"] = st.text_input("Hidden layer widths", ",".join(map(str, D.hidden)), key="hidden", disabled=cnn,
                                    help="Comma-separated widths, e.g. 64,64; empty for logistic regression; rnn and "
                                    "lstm: one width, the state size.",
                                    **URL)
        v["activation"] = st.selectbox("Activation", list(ACTIVATIONS), key="activation", disabled=v["model"] != "mlp",
                                       index=list(ACTIVATIONS).index(D.activation), **URL)
        v["channels"] = st.text_input(
            "Channels", ",".join(map(str, D.channels)), key="channels", disabled=not cnn,
            help=f"CNN: comma-separated channels of 1 to {cfg.MAX_CONV_BLOCKS} blocks (conv 3 → ReLU → max-pool 2), "
            f"each 1 to {cfg.MAX_CHANNELS}, e.g. 8,16; then one linear layer.", **URL)
        v["init_scale"] = st.number_input("Initialisation scale", 0.01, 100.0, D.init_scale, 0.1, key="init_scale",
                                          help="Multiplies PyTorch's default initialisation; small values start "
                                          "near the saddle at the origin.", **URL)
        v["seed"] = st.number_input("Seed", 0, 10**6, D.seed, key="seed",
                                    help="Seeds the initialisation and the minibatch order.", **URL)
    return v


def _optimizer_ui() -> dict:
    with st.expander("Optimizer", expanded=True):
        v = {"optimizer": st.selectbox("Optimizer", list(OPTIMIZERS), key="optimizer",
                                       index=list(OPTIMIZERS).index(D.optimizer),
                                       help="\n".join(f"- **{k}**: {o.description}" for k, o in OPTIMIZERS.items()),
                                       **URL)}
        chosen = OPTIMIZERS[v["optimizer"]]
        v["lr"] = st.number_input("Learning rate ε", 1e-5, 1000.0, D.lr, format="%.4g", key="lr",
                                  help="Can change while training.", **URL)
        v["momentum"] = st.slider("Momentum μ (Adam: β₁)", 0.0, 0.999, D.momentum, 0.01, key="momentum",
                                  disabled=not chosen.uses_momentum, **URL)
        v["damping"] = st.number_input("Newton damping λ", 0.0, 1e6, D.damping, format="%.4g", key="damping",
                                       disabled=not chosen.needs_hessian,
                                       help="Newton: step −ε(H + λI)⁻¹g; saddle-free Newton: −ε(|H| + λI)⁻¹g. "
                                       f"Both use the exact Hessian: at most {EXACT_HESSIAN_MAX_PARAMS:,} parameters.",
                                       **URL)
        v["batch_size"] = st.number_input("Batch size (0 = full batch)", 0, 200_000, D.batch_size, key="batch_size",
                                          **URL)
        v["steps"] = st.number_input("Steps", 1, 10_000_000, D.steps, 100, key="steps", **URL)
        v["curvature_monitor"] = st.toggle(
            "Curvature monitor (eq. 8.10)", D.curvature_monitor, key="curvature_monitor",
            help="Every step: gᵀg, gᵀHg and the ratio ½ε·gᵀHg/gᵀg of the step's own minibatch, with one extra "
            "Hessian-vector product; at each logged row, λ_max of the Hessian against 2/ε. Can change while "
            "training.", **URL)
    with st.expander("More settings"):
        v["clip_norm"] = st.number_input("Clip gradient norm at (0 = off)", 0.0, 1e6, D.clip_norm, key="clip_norm",
                                         **URL)
        v["weight_decay"] = st.number_input("Weight decay", 0.0, 100.0, D.weight_decay, format="%.4g",
                                            key="weight_decay", **URL)
        v["log_every"] = st.number_input("Full evaluation every … steps (0 = auto)", 0, 10**6, D.log_every,
                                         key="log_every", **URL)
        v["device"] = st.selectbox("Device", DEVICES, key="device", **URL)
        c1, c2 = st.columns(2)
        v["interp_min"] = c1.number_input("α from", -10.0, 0.0, D.interp_min, 0.1, key="interp_min",
                                          help="Interpolation range; it always contains 0 and 1.", **URL)
        v["interp_max"] = c2.number_input("α to", 1.0, 11.0, D.interp_max, 0.1, key="interp_max", **URL)
        v["interp_points"] = st.slider("Interpolation points", 5, 201, D.interp_points, 2, key="interp_points", **URL)
    return v


def unused_link_settings() -> None:
    """On a page that does not train: name the link's training settings, which it does not use, and the file
    settings, which no page takes from a link."""
    url = link_values()
    never = [f"`{k}`" for k in url if k in NOT_FROM_URL]
    fields = [f"`{k}={shown(v)}`" for k, v in url.items() if k in cfg.FIELD_TYPES and k not in NOT_FROM_URL]
    if fields:
        st.warning(f"This page does not train runs, so the link's settings {', '.join(fields)} were not used. "
                   "Open the link on the **Train** page to train with them.", icon=":material/link_off:")
    if never:
        st.warning(f"The link's {', '.join(never)} will not be used on any page: the app never opens a file or "
                   "folder that a link names.", icon=":material/link_off:")


def ignored_url_fields(url: dict, config: cfg.TrainConfig | None, dataset: str | None = None) -> list[str]:
    """A sentence for each config field of the link that the sidebar could not take, saying why. Each field is tried
    with the sidebar's other settings (config; without one, its data set), so `model=cnn` is judged on the data set
    the sidebar uses."""
    dataset = config.dataset if config is not None else dataset or url.get("dataset")
    if config is not None:
        base = config.to_dict()
    else:  # csv without its file is no config at all
        base = {"dataset": dataset} if dataset in DATASETS and dataset != "csv" else {}
    problems = []
    for name, text in url.items():
        if name not in cfg.FIELD_TYPES:
            continue
        raw = shown(text)  # as the messages quote it; the field is tried with the whole text
        if name in NOT_FROM_URL:
            problems.append(f"`{name}` was ignored: {NOT_FROM_URL[name]}.")
            continue
        if name == "dataset" and text == "csv" and dataset != "csv":
            problems.append("`dataset=csv` was ignored: a link cannot carry the CSV file itself; choose csv under "
                            "Data and upload the file.")
            continue
        users = users_of(name)
        if users and dataset not in users:
            problems.append(f"`{name}={raw}` was ignored: it applies only to the data set{'s' * (len(users) > 1)} "
                            f"{', '.join(users)}.")
            continue
        try:
            wanted = getattr(cfg.from_dict({**base, name: text}), name)
        except ValueError as exc:
            problems.append(f"`{name}={raw}` was ignored: {exc}.")
            continue
        if config is not None and getattr(config, name) != wanted:
            problems.append(f"`{name}={raw}` was ignored: it is outside what the sidebar offers for that setting.")
    return problems


def widget_values(config: cfg.TrainConfig) -> dict:
    """The sidebar's widget values (key -> value) that describe `config`."""
    values = config.to_dict()
    values["hidden"] = ",".join(map(str, config.hidden))
    values["channels"] = ",".join(map(str, config.channels))
    return values


def settings() -> cfg.TrainConfig | None:
    """The training settings in the sidebar, on the pages they act on; returns the config they describe (None after
    saying what is wrong). Streamlit forgets a widget's value (and its URL parameter) while a page does not draw it,
    so the values are kept aside and put back here."""
    for key, value in st.session_state.get(KEPT, {}).items():
        if key not in st.session_state:
            st.session_state[key] = value
    config = config_ui()
    st.session_state["config"] = config
    st.session_state[KEPT] = {k: st.session_state[k] for k in cfg.FIELD_TYPES if k in st.session_state}
    return config


def config_from_widgets() -> cfg.TrainConfig | None:
    """The config the sidebar's widgets hold now, or None when they do not make one (or its data cannot be read). In
    a button's callback, which runs before the sidebar is drawn again, this already includes a setting changed
    together with the click."""
    values = data_values({k: st.session_state[k] for k in cfg.FIELD_TYPES if k in st.session_state})
    if not values or data_problem(values) is not None:
        return None
    try:
        return cfg.from_dict(values)
    except ValueError:
        return None


def config_ui() -> cfg.TrainConfig | None:
    """Draw the sidebar and return the config it describes, or None after showing what is wrong. Fields of the link
    that could not be used are named (a mistyped shared link must not silently train something else)."""
    url = link_values()  # before the widgets read (and drop) bad values; with those app.py dropped
    with st.sidebar:
        st.header("Settings")
        data, problem = data_ui()  # a problem (missing files, no upload) is shown there, as what to do
        values = data_values({**data, **_model_ui(data["dataset"]), **_optimizer_ui()})
        config = None
        if problem is None:
            try:
                config = cfg.from_dict(values)
            except ValueError as exc:
                st.error(f"Fix this setting: {exc}")
    problems = ignored_url_fields(url, config, data["dataset"])
    for name in url:  # no widget drops these from the address bar: a copied link must not carry them on
        if name in st.query_params and (name in NOT_FROM_URL or (users_of(name) and data["dataset"] not in
                                                                 users_of(name))):
            del st.query_params[name]
    if problems:
        st.session_state["url_problems"] = problems
    if st.session_state.get("url_problems"):
        with st.sidebar:
            st.warning("This link had settings the app could not use; the sidebar shows what it uses instead.\n\n"
                       + "\n".join(f"- {p}" for p in st.session_state["url_problems"]), icon=":material/link_off:")
            if st.button("Dismiss", key="url_problems_dismiss"):
                st.session_state.pop("url_problems")
                st.rerun()
    if st.session_state.pop(FELL_BACK, False):  # the Data set list was drawn without csv: draw it again, with it
        st.rerun()
    return config
