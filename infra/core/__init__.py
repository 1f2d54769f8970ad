"""The data-plane kernel: boto3 clients, the resource declaration, the item codec and cursors, the
error hierarchy, ids and validation building blocks. It imports no app and no Django view code."""
