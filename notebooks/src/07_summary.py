# %% [markdown]
# # 07 · The four findings in one table, and a glossary
#
# What the paper claims, what dssl-lite measured at the lesson scale (the `live` preset:
# scikit-learn's digits, 10 clients, 600 local steps, on the definitions of the paper's code), the
# statistic with its 95 % interval over seeds, and the verdict. The table is the package's one
# judgement of each finding (`dssl-lite findings` prints the same), computed here from the shipped
# atlases (`data/atlas/`), the same rows the explorer draws and notebooks 03-06 read in quick mode;
# [docs/fidelity.md](https://github.com/dssl-lite/dssl-lite/blob/main/docs/fidelity.md) has every
# table behind it. Each notebook explains one row.

# %%
# Colab, or any kernel without dssl-lite: install it into this kernel first (about a minute;
# a torch that is already installed is kept).
try:
    import dssl_lite  # noqa: F401
except ImportError:
    # %pip install -q "dssl-lite @ git+https://github.com/dssl-lite/dssl-lite"
    import dssl_lite  # noqa: F401

# %% tags=["parameters"]
quick: bool = False                      # nothing trains here: the table reads the shipped atlases

# %%
from IPython.display import Markdown, display

from dssl_lite.findings import judgements
from dssl_lite.findings.render import REPO_URL, summary_table

# links to the published notebooks: they work in a checkout, a `dssl-lite notebooks DIR` copy and Voila
display(Markdown(summary_table(judgements(), link_prefix=REPO_URL)))

# %% [markdown]
# **How to read a verdict.** Each finding has a statistic (a paired difference, or a slope), its
# 95 % interval over seeds, and a smallest effect of interest (below it, a difference would not
# matter for the claim). *Shows*: the whole interval lies on the paper's side of 0. *Goes the other
# way*: the whole interval lies on the other side. *No difference*: the whole interval lies inside
# plus or minus the smallest effect of interest, so any effect is too small to matter. *Within the
# noise*: the interval includes 0 and reaches past that band, so more seeds could still settle it
# either way. The words are the same toward and against the paper. *Cannot tell: an arm
# collapsed* means one objective learned (almost) nothing on IID data (its accuracy is within 0.10
# of an untrained encoder's), so its ratio means nothing; *the measures disagree* (finding 4) means
# CKA and MMD^2 point opposite ways; *not measured* means no shipped atlas has the rows.
#
# ## Where does each finding hold? The regime map
#
# The same judgement over the scale knobs that can change it on a laptop: training length, clients,
# the split, the graph's size, MAR's weight, participation. Every measured cell is shown, also where
# a finding does not show; "not measured" cells have their grid in `examples/regime_finding*.yaml`
# (`dssl-lite atlas build` builds them, for hours on 2 cores).

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

from dssl_lite import regime

display(Markdown(regime.summary()))
regime.figure()
plt.show()

# %% [markdown]
# ## Glossary
#
# * **alpha**: the Dirichlet concentration of the label split. Small alpha (0.01) gives each client
#   about one class; large alpha (100) approaches an IID split.
# * **heterogeneity**: how different the clients' label mixes are (mean total-variation distance
#   of each client's label distribution from the federation's; 0 = IID).
# * **robustness**: accuracy on non-IID data divided by a reference accuracy on IID data; here, as
#   in the paper's code, FL's IID accuracy of the same seed, so every graph sits on one scale.
#   1 means nothing was lost.
# * **kNN probe**: how good the learned features are: freeze the encoder, embed the labelled
#   training images, classify each test image by its 20 nearest neighbours (cosine similarity).
# * **floor**: the kNN accuracy of an *untrained* encoder. A run whose IID accuracy is at the floor
#   learned nothing a random network lacks ("collapsed"): its robustness ratio means nothing.
# * **FL / DecL**: federated learning (a server averages the clients' models every round) and
#   decentralised learning (each client averages with its neighbours on a graph).
# * **average degree, spectral gap**: how connected a graph is (neighbours per client), and how fast
#   repeated averaging on it reaches consensus (1 minus the second-largest eigenvalue of the mixing
#   matrix, in absolute value; larger = faster).
# * **CKA** (centred kernel alignment): the similarity of two feature spaces on the same images,
#   1 = the same geometry up to rotation and scale.
# * **MMD^2** (maximum mean discrepancy): the distance between two distributions of features,
#   0 = the same distribution.
# * **UMAP**: a 2-D picture of high-dimensional features that keeps neighbours near each other
#   (after PCA to 20 dimensions, as the paper's code does).
# * **atlas**: runs measured once on a grid at five seeds and shipped with the package, so the
#   explorer and the quick notebooks show real curves without training.
# * **paired by seed**: two arms trained with the same seeds (the same data split and initial
#   model); their per-seed differences are what the interval is computed from.
