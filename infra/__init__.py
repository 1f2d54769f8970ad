"""Infrastructure: the data-plane kernel (core), provisioning and the local stack (`make run`)."""
