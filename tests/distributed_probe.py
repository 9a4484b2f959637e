"""Run under `accelerate launch --cpu --num_processes 2`: which training clips each process gets in one epoch,
through fastai's DistributedDL over slr_nb's loaders. Rank 0 prints one JSON line: the clip indices per rank."""
import json, sys
import torch.distributed as dist
from accelerate import PartialState
from fastai.distributed import DistributedDL
from slr_nb.data.store import build_store
from slr_nb.data.block import ClipDataLoaders
from slr_nb.learner import use_gloo_broadcast
use_gloo_broadcast()

state = PartialState()   # joins the process group accelerate launched (gloo on CPU)
store = build_store(sys.argv[1])
dls = ClipDataLoaders.from_store(store, split_by='session', valid_values='MP_Data1,MP_Data3', bs=32, num_workers=0)
ddl = DistributedDL(dls.train, device='cpu')
idxs = [int(i) for i in ddl.get_idxs()]
seen = [None] * dist.get_world_size()
dist.all_gather_object(seen, dict(rank=dist.get_rank(), idxs=idxs, batches=len(ddl), train_clips=len(dls.train.dataset)))
if dist.get_rank() == 0: print(json.dumps(seen))
dist.barrier()
dist.destroy_process_group()  # an open gloo group at exit aborts the process ("terminate called without an active exception")
