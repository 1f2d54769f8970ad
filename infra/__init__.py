"""Infrastructure: AWS clients, the one declaration of tables and buckets, provisioning."""
