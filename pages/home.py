"""Home: what the playground shows and where to start."""

import streamlit as st

from ui import page_file, require_frame
from ui.gallery import gallery

require_frame()

st.title("Optimizer playground")
st.markdown(
    """
Why is training a neural network hard, and why does it work anyway? Train a small network here and watch
what the optimizer does, live.

**Start:** open **Train** in the menu and press **Train**. The defaults fit a small tanh network to the two
moons in a few seconds. Change the data set, the network or the optimizer in the sidebar; the address bar
keeps every setting, so a copied link reproduces the run, seed included.

**What the Train page shows**

| Chart | What to look for |
|---|---|
| Gradient norm | Every minibatch gradient norm as a faint point, with its running average. In *Deep Learning*'s Fig. 8.1 it *grows* while the error falls. On the defaults it shrinks; the **DL Fig. 8.1** card below trains an MNIST-1D network where it grows, and checks that it does on your run. |
| Error and loss | Train and validation, measured on the whole splits: the classification error (share misclassified) and the mean cross-entropy; for a regression (sine, or a CSV with a continuous label) the RMSE (root mean squared error, in the label's units) and the mean squared error. |
| Loss on the line θ_i → θ | J((1−α)θ_i + αθ) for the current parameters θ (Goodfellow, Vinyals & Saxe 2015). Beside it: whether it is monotone, its largest bump, its barrier above the chord between the ends, and whether the loss keeps falling past θ (then θ is where training stopped, not a minimum along the line). |
| Straying from the path | How far the trajectory leaves the straight line: projection on the axis θ_i → θ against the residual norm, with the largest ρ = r/‖θ‖. |
| Decision regions | For the 2-D data sets, what the network predicts over the plane. |
| The fit | For a 1-D regression (sine, or a CSV with one feature and a continuous label): the training points and the network's prediction over them, redrawn as it trains. |

Pause, step one update at a time, change the learning rate mid-run, or reset. A run that diverges pauses
itself and says why. Every chart downloads as PNG or SVG, and the metrics as CSV, when the run is paused or done.

**The other pages** study finished runs (yours, or the presets' below):

| Page | What it shows |
|---|---|
| Interpolation | The loss on straight lines: init → final, solution → solution (two seeds), a random point → final, or between two checkpoints; several runs on one axis, zoom windows, log scale. |
| Straying | How far a run's trajectory leaves the line θ_i → θ_f, with ρ_t = r_t/‖θ_t‖ over time; and the same plot for random walks and for gradient descent on a convex problem, which show how much of its shape is geometry. |
| Network landscape | The loss over a plane through θ_i and θ_f, with the trajectory on it and how far to trust the picture. |
| Deep linear | J(w₁, w₂) = (w₁w₂ − 1)²: a saddle at the origin, a hyperbola of minima, and the quartic along any line, in closed form and numerically. |
| Minima | Weight-space symmetry: a run's permuted copy computes the same function far away, and a ReLU run's rescaled copy too, with another λ_max; matching two runs' units shrinks the barrier between them, measured again across widths. Random restarts: which seeds fit the training set, and the share that fits against width. |
| Curvature | The Hessian's spectrum, its index along training, optimizers (Newton included) from one start, saddles and cliffs. |
| Gradients | Inexact gradients: how far a minibatch gradient lies from the full one against the batch size m (its error falls like 1/√m), and at each logged step while a run trains. Signal through depth: activations and gradients layer by layer in a deep network at initialisation, vanishing at a small scale and exploding at a large one. |
| Surfaces | Optimizers raced on analytic 2-D surfaces, with random restarts. |
| Long-term dependencies | Repeated multiplication h_t = W h_(t−1): components with |λ| < 1 vanish and with |λ| > 1 explode, forward and back, exactly as λᵗ. The gradient ‖∂J/∂h_t‖ of your RNN and LSTM runs against the step t, at initialisation and after training. The share of random restarts of an RNN and an LSTM that solve a memory task, as T grows. A cliff in a trained RNN's loss, where a plain gradient step is thrown off and a clipped one walks down. |

Each gallery card below states its lesson as claims, and the page checks each on the run you just trained: **holds** or **fails**, with the measured number.

The same experiments run headless: `python -m core train --config CONFIG.json --out DIR`, and
`python -m core --help` for the rest.
"""
)
st.page_link(page_file("train"), label="Go to Train", icon=":material/play_circle:")
gallery()
