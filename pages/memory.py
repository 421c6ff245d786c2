"""Long-term dependencies: repeated multiplication by one matrix, the gradient through time of recurrent runs, the
restarts that solve a memory task against T, and a cliff with clipping (Deep Learning §8.2.4–8.2.5, §10.7;
definitions §14)."""

import streamlit as st

from ui import require_frame, runs
from ui.memory_cliff_view import cliff_view
from ui.memory_sweep_view import sweep_view
from ui.memory_view import chain_view, through_time_view

require_frame()

st.title("Long-term dependencies")
st.caption("A recurrent network applies the same map at every step, so over T steps its state and its gradient are "
           "multiplied T times by (nearly) the same matrix (Deep Learning §8.2.5, §10.7). **Repeated "
           "multiplication** (*chain*): h_t = W h_(t−1) with W's eigenvalues set by you, forward and back. "
           "**Gradients through time** (*through_time*): ‖∂J/∂h_t‖ of this session's RNN and LSTM runs, at "
           "initialisation and after training. **Memory sweep** (*sweep*): which random restarts of an RNN and an "
           "LSTM solve a task, as T grows. **Cliff** (*cliff*, §8.2.4): a cliff in a trained RNN's loss, and a plain "
           "and a clipped gradient step from its face.")

# The keys are the options (a bound widget's URL holds what it shows), so the address reads ?mem_view=chain.
VIEWS = {"chain": "h_t = W h_(t−1) and its gradient, with the closed form λᵗ, for eigenvalues you set",
         "through_time": "‖∂J/∂h_t‖ against t of a recurrent run at θ_init and θ_final; RNN against LSTM",
         "sweep": "the fraction of random restarts that solve the task, against T, for the RNN and the LSTM",
         "cliff": "a cliff in a recurrent network's loss, and what a plain and a clipped gradient step do there"}
shown = st.segmented_control("Show", list(VIEWS), default="chain", required=True, key="mem_view",
                             bind="query-params", help="\n".join(f"- **{k}**: {v}" for k, v in VIEWS.items()))
if shown == "through_time":
    through_time_view(runs.available())
elif shown == "sweep":
    sweep_view()
elif shown == "cliff":
    cliff_view()
else:
    chain_view()
