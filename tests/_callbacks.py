"""A base for the test suites' callbacks of scikit-learn's callback protocol."""


class NoOpCallback:
    """Does nothing at every hook; subclasses override the hooks they test."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False
