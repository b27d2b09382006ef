"""SpineNAS's search system, in layers; a layer imports only the layers below it.

    commands     the CLI and one module per command (`spinenas --help` lists them)
    runner       Ray, one trial on a worker, a campaign of trials on Ray Tune, ASHA, failure watch
    reporting    run folders (trials.csv, runs.csv), the recorder, report.html, TensorBoard, plots
    settings     the typed config: Hydra schemas, one schema map, a search's settings, resume checks
    searchers | evaluators | rewards | screening     (side by side; none imports another)
                 what proposes architectures | what measures them | what their metrics are worth |
                 which proposals are worth a trial (the predictor, the screen)
    core         trial statuses, scheduler arithmetic, rank and comparison statistics, memory

Below `nas`: `proxy_tasks` (detection training and COCO evaluation, no Ray) and `search_space`
(architectures, spaces, models). docs/code.md is the map; tests/test_layers.py keeps it true.
"""
