# Common tasks. `make install` then `make test` set up and check a fresh machine.
PYTHON ?= python
WORKDIR ?= runs/quickstart

.PHONY: install install-gpu test lint format train tensorboard bench bench-soak bench-curves bench-quality bench-toys bench-objectives clean

install:  ## CPU TensorFlow plus test tools
	$(PYTHON) -m pip install -e ".[cpu,dev]"

install-gpu:  ## NVIDIA GPU TensorFlow (tensorflow[and-cuda]) plus test tools
	$(PYTHON) -m pip install -e ".[gpu,dev]"

test:  ## the suite on every core, a test module per process (about 8 minutes on 2 cores)
	$(PYTHON) -m pytest -q -n auto --dist loadfile

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

train:  ## the quickstart: built-in glyphs, a few minutes on a CPU
	$(PYTHON) -m dcgan.train --flagfile=experiments/quickstart.flags --workdir=$(WORKDIR)

tensorboard:
	$(PYTHON) -m tensorboard.main --logdir=runs

bench:  ## the step against the baselines and the hardware, every target PASS/MISS, bench.json (~7 min on 2 cores)
	$(PYTHON) -m dcgan.benchmarks.perf --output=bench.json

bench-soak:  ## a 20k-step toy run watched for memory growth and retracing (a few minutes)
	$(PYTHON) -m dcgan.benchmarks.soak --output=soak.json

bench-curves:  ## the quickstart and glyphs32 flagfiles' FID, coverage, classes covered by step vs the real-vs-real floor (~25 min on 2 cores)
	$(PYTHON) -m dcgan.benchmarks.curves --output=bench_curves.json --plot=bench_curves.png

bench-quality:  ## quickstart, glyphs_conditional and glyphs_best x 3 seeds, the unconditional quickstart against 4 published peer recipes at equal wall time, targets PASS/MISS (~1 h 20 min on 2 cores)
	$(PYTHON) -m dcgan.benchmarks.quality --output=bench_quality.json --plot=bench_quality.png --grids=bench_quality_grids

bench-toys:  ## ring2d, grid2d, gaussian1d flagfiles x 5 seeds against their targets and the 98 % goal (1.5–2 h on 2 cores)
	$(PYTHON) -m dcgan.benchmarks.toys --output=bench_toys.json

bench-objectives:  ## hinge, lsgan, PacGAN on ring2d and grid2d x 3 seeds, then the glyph table (~2.5 h on 2 cores)
	$(PYTHON) -m dcgan.benchmarks.toys --experiments=$(shell $(PYTHON) -c "from dcgan.benchmarks import toys; print(','.join(toys.VARIANTS))") --seeds=0,1,2 --workdir_root=runs/bench_objectives --output=bench_objectives.json
	$(PYTHON) -m dcgan.benchmarks.glyphs --output=bench_glyphs.json

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache bench.json bench_data.json soak.json bench_toys.json bench_objectives.json bench_glyphs.json bench_curves.json bench_curves.png bench_quality.json bench_quality.png bench_quality_grids
