import json,glob,sys,statistics as st,collections,re
# per (shape, impl, variant): median over rounds of process medians; paired ratio vs base per round
d=collections.defaultdict(dict)
base=sys.argv[2] if len(sys.argv)>2 else 'base'
for f in glob.glob(sys.argv[1]+'/*.jsonl'):
  m=re.search(r'/(\d+x\d+)_(.+)_r(\d+)\.jsonl',f)
  for l in open(f):
    o=json.loads(l)
    if o.get('latency_ns'):
      c=o.get('ceiling') or {}
      d[(m.group(1),o['impl'])].setdefault(m.group(2),{})[int(m.group(3))]=(o['latency_ns']['median']/1e3, c.get('median_gbps'), c.get('pct_median') if 'pct_median' in c else None)
for k in sorted(d):
  vs=d[k]; b=vs.get(base,{})
  for v in sorted(vs):
    us=[vs[v][r][0] for r in sorted(vs[v])]
    rat=[vs[v][r][0]/b[r][0] for r in sorted(vs[v]) if r in b]
    print(f"{k[0]:10s} {k[1]:24s} {v:10s} median {st.median(us):8.1f} us [{min(us):.0f}-{max(us):.0f}]  ratio/{base} median {st.median(rat):.3f} [{min(rat):.3f}-{max(rat):.3f}]  ceil {st.median([vs[v][r][1] or 0 for r in vs[v]]):.1f}")
