"""The paper's numbers, in one place: every table our reports print beside ours.

Agarwal, Machado, Castro, Bellemare, *Contrastive Behavioral Similarity Embeddings for
Generalization in Reinforcement Learning*, ICLR 2021 (``../shared/paper/``). Values are as
printed: mean (std) over 100 runs unless a table says otherwise.
"""

from __future__ import annotations

#: runs behind every jumping-task number (Tables 1, 2 and G.1: "across 100 runs").
JUMPING_RUNS = 100

#: the jumping task's grids, in Table 1's column order.
JUMPING_GRIDS = ("wide", "narrow", "random")

#: Table 1 (% test tasks solved, mean (std) over 100 runs) by (method, grid).
TABLE1: dict[tuple[str, str], tuple[float, float]] = {
    (m, g): v
    for m, row in {
        "Dropout and ℓ2 reg.": ((17.8, 2.2), (10.2, 4.6), (9.3, 5.4)),
        "Bisimulation transfer": ((17.9, 0.0), (17.9, 0.0), (30.9, 4.2)),
        "PSEs": ((33.6, 10.0), (9.3, 5.3), (37.7, 10.4)),
        "RandConv": ((50.7, 24.2), (33.7, 11.8), (71.3, 15.6)),
        "RandConv + Bisimulation": ((41.4, 17.6), (17.4, 6.7), (33.4, 15.6)),
        "RandConv + PSEs": ((87.0, 10.1), (52.4, 5.8), (83.4, 10.1)),
    }.items()
    for g, v in zip(JUMPING_GRIDS, row, strict=True)
}

#: Table 2 (wide grid, with RandConv): metric × embedding ablation.
TABLE2: dict[str, tuple[float, float]] = {
    "π*-bisim + ℓ2": (41.4, 17.6),
    "π*-bisim + CME": (23.1, 7.6),
    "PSM + ℓ2": (17.5, 8.4),
    "PSM + CME (G.5 hyperparameters)": (87.0, 10.1),
}

#: Table G.1 (colored obstacles, wide grid; % test tasks solved, mean (standard error) over
#: 100 runs) by method: (red, green).
TABLE_G1: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "RandConv": ((6.2, 0.4), (99.6, 0.2)),
    "Dropout and ℓ2 reg.": ((19.5, 0.2), (100.0, 0.0)),
    "RandConv + PSEs": ((29.8, 1.3), (99.6, 0.2)),
    "PSEs": ((37.9, 1.9), (100.0, 0.0)),
}

#: Table H.1 (LQR with distractors): (row, nd) → (mean, std) of J_test − J* over 100 seeds.
TABLE_H1: dict[tuple[str, int], tuple[float, float]] = {
    ("overparam", 500): (25.8, 1.5),
    ("overparam", 1000): (24.9, 1.1),
    ("overparam", 10000): (24.9, 0.4),
    ("ipo", 500): (32.6, 5.0),
    ("ipo", 1000): (27.3, 2.8),
    ("ipo", 10000): (24.8, 0.4),
    ("l1", 500): (28.2, 0.0),
    ("l1", 1000): (28.2, 0.0),
    ("l1", 10000): (28.2, 0.0),
    ("psm", 500): (0.03, 0.0),
    ("psm", 1000): (0.03, 0.0),
    ("psm", 10000): (0.02, 0.0),
}

#: Table 3 (Distracting DM Control, dynamic backgrounds, 500k env steps; mean ± s.e. over 5
#: seeds): (init, method, task) → (mean, s.e.).
TABLE3_TASKS = (
    "ball_in_cup-catch",
    "cartpole-swingup",
    "cheetah-run",
    "finger-spin",
    "reacher-easy",
    "walker-walk",
)
TABLE3: dict[tuple[str, str, str], tuple[float, float]] = {
    (init, method, task): v
    for (init, method), row in {
        ("random", "DrQ"): ((747, 28), (582, 42), (220, 12), (646, 54), (931, 14), (549, 83)),
        ("random", "DrQ + PSEs"): (
            (821, 17),
            (749, 19),
            (308, 12),
            (779, 49),
            (955, 10),
            (789, 28),
        ),
        ("pretrained", "DrQ"): ((748, 30), (689, 22), (219, 10), (764, 48), (943, 10), (709, 29)),
        ("pretrained", "DrQ + PSEs"): (
            (805, 25),
            (753, 13),
            (282, 8),
            (803, 19),
            (962, 11),
            (829, 21),
        ),
    }.items()
    for task, v in zip(TABLE3_TASKS, row, strict=True)
}
