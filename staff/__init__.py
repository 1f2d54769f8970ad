"""Staff use cases, the service layer: each staff action is one typed function (write + audit),
called by the dashboard views, the support shell and the tests alike."""
