import json,glob,sys,statistics as st,collections,re
d=collections.defaultdict(dict)
for f in glob.glob(sys.argv[1]+'/*.jsonl'):
  m=re.search(r'v(\d)_r(\d+)',f)
  for l in open(f):
    o=json.loads(l)
    if o.get('status')!='ok': continue
    d[(o['model']['name'],o['impl'],int(o['batch']))][(int(m.group(1)),int(m.group(2)))]=(o['latency_ms_per_token'], o.get('matmul_ms_per_token'), o.get('pct_of_ceiling'))
for k in sorted(d):
  v=d[k]; rs=sorted({r for (_,r) in v})
  on=[v[(1,r)][0] for r in rs if (1,r) in v]; off=[v[(0,r)][0] for r in rs if (0,r) in v]
  rat=[v[(1,r)][0]/v[(0,r)][0] for r in rs if (1,r) in v and (0,r) in v]
  print(k, 'on %.2f [%.2f-%.2f]'%(st.median(on),min(on),max(on)), 'off %.2f [%.2f-%.2f]'%(st.median(off),min(off),max(off)), 'on/off paired median %.3f [%.3f-%.3f]'%(st.median(rat),min(rat),max(rat)))
