"""SpineNAS search driver: controller, searchers, Ray Tune trainable, results and the CLI."""
