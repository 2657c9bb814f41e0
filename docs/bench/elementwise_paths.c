/* Elementwise kernel paths side by side (ns per element, best of 30): portable, avx2-fma, avx512.
   clang -O2 -ISources/CEmoKernels/include docs/bench/elementwise_paths.c Sources/CEmoKernels/*.c -o /tmp/kb -lm && /tmp/kb */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "CEmoKernels.h"
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){ size_t n=3072*64; float*x=malloc(4*n),*y=malloc(4*n),*g=malloc(4*3072),*b=malloc(4*3072);
 for(size_t i=0;i<n;i++)x[i]=((i*7919)%2000)/100.f-10; for(int i=0;i<3072;i++){g[i]=1;b[i]=0;}
 const EmoKernelTable* t[3]={emo_kernels_portable(),emo_kernels_avx2(),emo_kernels_avx512()};
 for(int r=0;r<2;r++) for(int k=0;k<3;k++){ if(!t[k])continue; double best=1e9,bs=1e9,bl=1e9;
  for(int rep=0;rep<30;rep++){double s=now(); t[k]->gelu(x,y,n); s=now()-s; if(s<best)best=s;
   s=now(); for(int row=0;row<64;row++) t[k]->softmax(y+row*3072,3072); s=now()-s; if(s<bs)bs=s;
   s=now(); t[k]->layer_norm(x,64,3072,g,b,1e-5f,y,NULL,NULL); s=now()-s; if(s<bl)bl=s;}
  printf("%-9s gelu %.3f ns/el  softmax %.3f ns/el  layernorm %.3f ns/el\n",t[k]->name,best/n*1e9,bs/n*1e9,bl/n*1e9);}
}
